{
  "targets": [
    {
      "target_name": "torch_native",
      "sources": [
        "native/addon.cc",
        "native/gloo_backend.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch-paths.cjs include)"
      ],
      "libraries": [
        "<!@(node scripts/libtorch-paths.cjs libs)"
      ],
      "cflags!": [
        "-fno-exceptions",
        "-fno-rtti"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17",
        "-std=gnu++14",
        "-std=c++17"
      ],
      "cflags_cc": [
        "-std=c++20",
        "-fexceptions",
        "-frtti",
        "-O2",
        "-fvisibility=hidden",
        "-fvisibility-inlines-hidden",
        "-Wno-unused-parameter",
        "-Wno-deprecated-declarations"
      ],
      "defines": [
        "<!@(node scripts/libtorch-paths.cjs defines)",
        "NAPI_CPP_EXCEPTIONS",
        "NAPI_EXPERIMENTAL",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ]
    }
  ]
}

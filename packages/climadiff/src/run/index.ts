// The main job as library functions: training and sampling runs, model folders (builtin:NAME), reports, references.
export * from './pipeline.js';
export { loadSamplingModel, exportModel, resolveModelPath, builtinModels, builtinModelsDir, type SamplingModel, type ExportedModel } from './model-store.js';
export { writeSampleReport, heldOutClips, runSource, type SampleReportOptions, type SampleReportResult, type VariableVerdict } from './sample-report.js';
export { REFERENCES, referenceSpec, trainReference, finishReference, evaluateReference, recipeKey, mergeHistory, type ReferenceSpec, type HistoryEntry } from './reference.js';
export { runDemo, type DemoOptions } from './demo.js';
export { runTask, outputFormat, ensembleGIF, TASK_NAMES, type TaskName, type TaskRunOptions, type TaskRunResult } from './task-run.js';
export { ensembleDataset, readEnsembleFile, type EnsembleFile } from './ensemble-file.js';
export { runSimulate, type SimulateOptions } from './simulate.js';
export { scoreFiles, SCORE_REGIONS, type ScoreFilesOptions } from './score.js';
export { BASELINE_NAMES, AUTO_BASELINES } from './score-baselines.js';
export { embedRun, encodeLike, trainingBank, embeddingsDataset, embeddingPicture, type EmbedRunOptions, type EmbedRunResult, type LikeClip } from './embed-run.js';
export { representationEval, type RepresentationEvalOptions } from './represent-eval.js';

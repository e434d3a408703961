// The names the studio shows for the built-in demo (a module of its own so the page imports only these).

/** Where the demo model came from, wherever the studio shows a model's source. */
export const DEMO_MODEL_LABEL = 'Demo: tiny random model (not trained)';
/** The name the demo dataset is saved under. */
export const DEMO_DATASET_NAME = 'Demo: story settings';

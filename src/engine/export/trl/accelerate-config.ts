// accelerate_config.yaml: data-parallel training on the GPUs of one machine, the keys of TRL's own
// examples/accelerate_configs/multi_gpu.yaml. num_processes is a default that `accelerate launch
// --num_processes N` overrides. Mixed precision is left to train.py (bf16 where the GPU has it): a "bf16"
// here would fail on GPUs without bfloat16 before train.py could choose.

export const DEFAULT_PROCESSES = 2;

export function accelerateConfigYaml(processes = DEFAULT_PROCESSES): string {
  return [
    '# Data-parallel training on one machine: one process per GPU (accelerate launch --num_processes N overrides).',
    'compute_environment: LOCAL_MACHINE',
    'debug: false',
    'distributed_type: MULTI_GPU',
    "downcast_bf16: 'no'",
    'gpu_ids: all',
    'machine_rank: 0',
    'main_training_function: main',
    "mixed_precision: 'no'",
    'num_machines: 1',
    `num_processes: ${processes}`,
    'rdzv_backend: static',
    'same_network: true',
    'tpu_env: []',
    'tpu_use_cluster: false',
    'tpu_use_sudo: false',
    'use_cpu: false',
    '',
  ].join('\n');
}

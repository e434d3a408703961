// The bench's --help text.

export const HELP = `usage: npm run bench -- [options]
  --json              print exactly one JSON object on stdout (progress on stderr); use npm run -s, since
                      npm itself prints a banner on stdout
  --out=FILE          also write that JSON object to FILE
  --node              run our side on dawn.node instead of Chromium (the peer is browser-only)
  --system-vulkan     with --node: use the system's Vulkan drivers, not scripts/gpu-env.sh's choice
  --no-peer           skip TensorFlow.js
  --no-f16            skip the packed-f16 B rows
  --no-peak, --no-copy
  --shapes=0,2,4      only these matmul shapes (0: 512^3, 1: 1024^3, 2: 512x576x1536, 3: 512x1536x576,
                      4: 512x576x49152)
  --variants          also time every kernel variant our dispatcher offers on this device (slow)
  --full              never skip a product for being slow (default: skip when one product is projected
                      to take longer than --max-run seconds from the rate measured on smaller shapes);
                      includes --train, --eval, --grpo and --decode
  --max-run=S         that projection limit (default 120: every product of the default set runs on SwiftShader)
  --budget=S          seconds of timed repetitions per product after its warm-up (default 3)
  --chromium=PATH     browser binary (default /usr/bin/chromium or $TUNELAB_CHROMIUM)
training section (after the matmuls, same device; any option below implies --train):
  --train             LoRA steps (f16 base weights, AdamW, random token ids, one submit per step) on
                      stories260K and a random model of SmolLM2-135M's shape: tokens/s, model FLOP/s
                      (4N + 6LCT per token) and their fraction of the peak and of the best matmul above,
                      for SFT on the chosen answers and DPO (cached reference / reference pass in the step),
                      with each DPO step's cost in SFT steps against issue 9's limits (2.3x / 3.3x)
  --train-models=LIST stories260K,smollm2-135m (default both); also smollm2-360m, qwen2.5-0.5b (batch 1,
                      1 warm-up step; minutes per step on a software adapter)
  --train-objectives=LIST  sft,dpo-cached,dpo-ref (default all three; the DPO / SFT ratios need sft)
  --train-seq=T       tokens per sequence, a prompt of about T/4 and the answer (default 256)
  --train-batch=B[,B] sequences (DPO: pairs) per step: stories260K[,SmolLM2 shape] (default 8,1)
  --train-warmup=W[,W] untimed steps first, per objective (default 2,1)
  --train-steps=N     at most N timed steps per model and objective (default 10)
  --train-budget=S    seconds of timed steps per objective: a model's timed rounds (one step of each
                      objective, interleaved) stop when the next would end after S x objectives
                      (default 30; at least one round is timed)
  --train-profile     one more step per objective with timestamps around every dispatch: GPU time per kernel
  --train-cpu-steps=N CPU probe: N more steps per objective (after 2 untimed) at --train-cpu-seq tokens, their
                      median record and submit ms: the steady CPU per step (default 6; 0: none)
  --train-cpu-seq=T   tokens per sequence of the CPU probe's steps (default 16)
  --lora-r=R --lora-alpha=A   (default 8, 16)
  --lora-targets=LIST PEFT target_modules or all-linear (default q_proj,v_proj)
eval section (after training, same device; any option below implies --eval):
  --eval              multiple-choice scoring (scoreContinuations, f16 weights) of random HellaSwag-shaped
                      items (context 64-96 tokens, 4 endings of 12-32) on stories260K and a random model of
                      SmolLM2-135M's shape: items/s with the shared context (computed once per item) and
                      from scratch (every choice), interleaved rounds, and the speed-up shared / scratch
  --eval-models=LIST  stories260K,smollm2-135m (default both)
  --eval-items=N[,N]  items per run: stories260K[,SmolLM2 shape] (default 32,8)
  --eval-batch-tokens=N  KV positions per batch, one submit each (default 2048)
  --eval-rounds=N     at most N timed rounds of one run per mode (default 5)
  --eval-budget=S     seconds of timed runs per mode (default 60; at least one round)
grpo section (after eval, same device; any option below implies --grpo):
  --grpo              GRPO steps through the product path (runGrpoTraining, rollouts sampled from the GPU
                      model with the training adapter attached, built-in rewards, LoRA r 8 on q_proj,v_proj)
                      on stories260K and a random model of SmolLM2-135M's shape: rollout tokens/s, training
                      tokens/s without the rollouts, the shares of the step spent generating and in the
                      rewards, and rollout tokens/s against greedy generate() of the same prompts
  --grpo-models=LIST  stories260K,smollm2-135m (default both)
  --grpo-prompts=N[,N]  prompts per step: stories260K[,SmolLM2 shape] (default 2,1)
  --grpo-generations=G  completions per prompt, num_generations (default 4)
  --grpo-prompt-tokens=P  random prompt ids per prompt, BOS first (default 8)
  --grpo-completion=L[,L]  max_completion_length: stories260K[,SmolLM2 shape] (default 32,8)
  --grpo-warmup=W[,W] untimed GRPO steps first (default 1,1)
  --grpo-steps=N[,N]  timed GRPO steps (default 3,1)
  --grpo-reward=SPEC  reward functions in --reward syntax, built-ins only (default length=20)
decode section (after grpo, same device; any option below implies --decode):
  --decode            greedy generate() (the GPU model, KV cache, f16 weights, EOS ignored) of seeded random
                      prompts on stories260K and a random model of SmolLM2-135M's shape, each batch size:
                      decode tokens/s against the bandwidth bound (weight + KV bytes read per step over the
                      copy bandwidth above, read + write counted) and the fraction of it
  --decode-models=LIST  stories260K,smollm2-135m (default both)
  --decode-batch=LIST batch sizes, each run on every model (default 1,8)
  --decode-tokens=N[,N]  new tokens per sequence, at least 2: stories260K[,SmolLM2 shape] (default 32,8)
  --decode-prompt-tokens=P  random prompt ids per sequence, BOS first (default 4)
  --decode-runs=N     timed runs per model and batch size, after a warm-up run (default 1)
  --models=DIR        folder holding stories260K/ (default $TUNELAB_MODELS, else ../shared/assets/models)`;

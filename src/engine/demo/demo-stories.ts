// The built-in demo task, generated from templates: "Setting: a rainy forest.\n" -> a story opening that
// takes up that setting and its weather. The same seed always gives the same examples, so the demo
// tokenizer (learned from this text) and the demo dataset agree on every machine.

import { Rng } from '../util/rng';

export interface DemoStory {
  prompt: string;
  completion: string;
}

/** Each weather word with the sentence a story in that weather continues with. */
const WEATHER: readonly (readonly [string, string])[] = [
  ['rainy', 'The rain made little puddles everywhere.'],
  ['sunny', 'The sun was warm and bright.'],
  ['snowy', 'Soft white snow covered the ground.'],
  ['windy', 'The wind blew the leaves around.'],
  ['foggy', 'The fog hid the path ahead.'],
  ['quiet', 'Everything was calm and still.'],
  ['busy', 'Many friends walked by every day.'],
  ['dark', 'Only a few small lights were shining.'],
];

const PLACES = ['forest', 'beach', 'village', 'garden', 'castle', 'meadow', 'city', 'mountain'] as const;

/** Who the story is about, with the pronoun that continues it. */
const CHARACTERS: readonly (readonly [string, 'He' | 'She' | 'It'])[] = [
  ['a little girl named Lily', 'She'],
  ['a boy named Tom', 'He'],
  ['a small brown dog', 'It'],
  ['a friendly robot', 'It'],
  ['an old owl', 'It'],
  ['a tiny mouse', 'It'],
  ['a kind dragon', 'It'],
  ['a girl named Mia', 'She'],
  ['a boy named Ben', 'He'],
];

const LIKES = [
  'play with a red ball',
  'sing happy songs',
  'look for shiny stones',
  'read big books',
  'help friends',
  'run and jump',
  'draw pictures',
  'bake sweet cakes',
] as const;

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

/** `perSetting` stories for every weather and place (8 x 8 settings), in a fixed order. */
export function demoStories(perSetting = 3, seed = 7): DemoStory[] {
  const rng = new Rng(seed);
  const stories: DemoStory[] = [];
  for (const place of PLACES) {
    for (const [weather, sentence] of WEATHER) {
      const setting = `a ${weather} ${place}`;
      for (let i = 0; i < perSetting; i++) {
        const [who, pronoun] = pick(rng, CHARACTERS);
        const likes = pick(rng, LIKES);
        stories.push({
          prompt: `Setting: ${setting}.\n`,
          completion: `Once upon a time, in ${setting}, there was ${who}. ${sentence} ${pronoun} liked to ${likes}.`,
        });
      }
    }
  }
  return stories;
}

/** The stories as a JSONL file (one {"prompt", "completion"} object per line), as a user would import it. */
export function demoStoriesJsonl(stories: readonly DemoStory[] = demoStories()): string {
  return stories.map((s) => JSON.stringify({ prompt: s.prompt, completion: s.completion })).join('\n') + '\n';
}

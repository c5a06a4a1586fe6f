/** One benchmark: `npm run bench -- NAME` runs it alone; `npm run bench` runs all. */
export interface Bench {
  readonly name: string;
  readonly description: string;
  /** Prints its own lines; must print its figure and its ratio to a baseline measured in the same run. */
  run(args: string[]): Promise<void>;
}

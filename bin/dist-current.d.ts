/** Whether dist/ holds a build of the current sources (`root`: the repository, a URL ending in `/`). */
export function distIsCurrent(root: URL): boolean;

/** The name weft is installed under: what a bundled copy of weft looks for, and what error messages tell users to mark external. */
export const PACKAGE_NAME = "weft-threads";

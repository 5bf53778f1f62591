/**
 * Akri's FilterList (discovery-utils filtering.rs): `Include` keeps only the listed items,
 * `Exclude` drops them; matching is exact. No filter keeps everything.
 */
export interface FilterList {
  action: "Include" | "Exclude";
  items: string[];
}

export function shouldInclude(filter: FilterList | undefined, item: string): boolean {
  if (filter === undefined) return true;
  const listed = filter.items.includes(item);
  return filter.action === "Include" ? listed : !listed;
}

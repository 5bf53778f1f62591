/*
 * Akri's Instance (akri.sh/v0) as the agent serialises it (shared/src/akri/instance.rs,
 * serde camelCase; kube's CustomResource adds apiVersion and kind) and as the API server
 * returns it (with metadata.managedFields).
 */

/** k8s-openapi's OwnerReference: fields left None are not serialised. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

interface InstanceSpec {
  configurationName: string;
  cdiName: string;
  capacity: number;
  brokerProperties: Record<string, string>;
  shared: boolean;
  nodes: string[];
  deviceUsage: Record<string, string>;
}

/** One manager's entry, in the API server's encoding (FieldsV1). */
interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  fieldsType: "FieldsV1";
  fieldsV1: FieldsV1;
}

interface FieldsV1 {
  [key: string]: FieldsV1;
}

export interface Instance {
  apiVersion: "akri.sh/v0";
  kind: "Instance";
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    ownerReferences?: OwnerReference[];
    managedFields?: ManagedFieldsEntry[];
  };
  spec: InstanceSpec;
}

/** k8s-openapi's derived PartialEq on OwnerReference: every field, absent equal to absent. */
export function sameOwnerReference(a: OwnerReference, b: OwnerReference): boolean {
  return (
    a.apiVersion === b.apiVersion &&
    a.kind === b.kind &&
    a.name === b.name &&
    a.uid === b.uid &&
    a.controller === b.controller &&
    a.blockOwnerDeletion === b.blockOwnerDeletion
  );
}

/**
 * The fields each manager owns, as structured-merge-diff prints paths
 * (`.spec.nodes[="node-a"]`, `.metadata.ownerReferences[uid="…"]`), decoded from FieldsV1:
 * `f:<name>` a field, `k:<json>` a keyed list item, `v:<json>` a set item, `i:<n>` an
 * index, `.` the node itself.
 */
export function ownedFields(instance: Instance): Record<string, string[]> {
  const owned: Record<string, string[]> = {};
  for (const entry of instance.metadata.managedFields ?? []) {
    const paths: string[] = [];
    walkFields(entry.fieldsV1, "", paths);
    owned[entry.manager] = paths.sort();
  }
  return owned;
}

function walkFields(fields: FieldsV1, prefix: string, into: string[]): void {
  for (const [key, children] of Object.entries(fields)) {
    if (key === ".") {
      into.push(prefix);
      continue;
    }
    const path = prefix + pathElement(key);
    if (Object.keys(children).length === 0) into.push(path);
    else walkFields(children, path, into);
  }
}

function pathElement(key: string): string {
  const rest = key.slice(2);
  switch (key.slice(0, 2)) {
    case "f:":
      return `.${rest}`;
    case "v:":
      return `[=${rest}]`;
    case "i:":
      return `[${rest}]`;
    case "k:": {
      const keys = JSON.parse(rest) as Record<string, unknown>;
      return `[${Object.entries(keys)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    }
    default:
      throw new Error(`not a FieldsV1 key: ${key}`);
  }
}

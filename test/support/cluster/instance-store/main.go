// instance-store keeps Akri Instances (akri.sh/v0) the way kube-apiserver keeps a custom
// resource under server-side apply, using Kubernetes' own apply code: structured-merge-diff's
// typed values and merge.Updater, called as the apiserver's field manager calls them. It
// stands in for the Kubernetes API of a cluster whose nodes' Akri agents all write the same
// shared Instances, each as its own field manager, never forcing.
//
// Of the apiserver's field manager chain (k8s.io/apiserver fieldmanager, or
// k8s.io/apimachinery managedfields/internal in later releases) it does what an apply
// patch meets:
//   - structuredMergeManager.Apply: the patch and the live object as typed values of the
//     CRD's schema, then Updater.Apply(live, patch, "akri.sh/v0", managers, manager, force)
//     with force = false (kube-rs's PatchParams::apply sets no force);
//   - BuildManagerIdentifier: a manager is the JSON of its ManagedFieldsEntry (name,
//     operation Apply), so conflicts name the node;
//   - stripMetaManager: the server's own fields are never in a manager's set;
//   - managedFieldsUpdater: a manager's time moves when its apply changed the object;
//   - the CRD's structural defaulting on the result;
//   - a write that changes neither the object nor any manager's fields is no write at all
//     (no new resourceVersion, no watch event).
//
// Not done, because an apply never meets them: the last-applied annotation managers, the
// cap on Update managers, skipping non-applied managers. Objects live in memory only; a
// DELETE has no finalizers to wait for.
//
// It speaks JSON lines: one request a line on stdin, one response a line on stdout, and a
// watch event line ({"event":"ADDED|MODIFIED|DELETED","object":…}) before the response of
// every request that wrote something.
//
//	{"id":1,"op":"apply","manager":"node-a","namespace":"default","object":{…}}
//	{"id":2,"op":"delete","namespace":"default","name":"…"}
//	{"id":3,"op":"list"}
//
// Usage: instance-store <schema.yaml>
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/structured-merge-diff/fieldpath"
	"sigs.k8s.io/structured-merge-diff/merge"
	"sigs.k8s.io/structured-merge-diff/typed"
	"sigs.k8s.io/structured-merge-diff/value"
)

const (
	apiVersion   = "akri.sh/v0"
	kind         = "Instance"
	instanceType = "sh.akri.v0.Instance"
)

// stripSet is what kube-apiserver's stripMetaManager (k8s.io/apiserver, fieldmanager
// stripmeta.go) removes from the applying manager's field set after every apply: type meta
// and the metadata the server owns. Without it every applier would own metadata.name and
// nothing could ever change hands.
var stripSet = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

// oneVersion is the updater's converter for a resource served at one version only: the
// apiserver's CRD version converter is the identity then (Instance has only v0).
type oneVersion struct{}

func (oneVersion) Convert(v *typed.TypedValue, _ fieldpath.APIVersion) (*typed.TypedValue, error) {
	return v, nil
}

func (oneVersion) IsMissingVersionError(error) bool { return false }

// managerEntry is how the apiserver names a manager inside structured-merge-diff
// (BuildManagerIdentifier, fieldmanager buildmanagerinfo.go): the JSON of a
// ManagedFieldsEntry without fields, time, and, for appliers, without apiVersion. So "node-a"
// applying and "node-a" updating would be two managers; the agents only ever apply.
type managerEntry struct {
	Manager   string `json:"manager"`
	Operation string `json:"operation"`
}

func applierKey(manager string) string {
	b, _ := json.Marshal(managerEntry{Manager: manager, Operation: "Apply"})
	return string(b)
}

func managerName(key string) string {
	var m managerEntry
	if err := json.Unmarshal([]byte(key), &m); err != nil {
		return key
	}
	return m.Manager
}

type stored struct {
	object  map[string]interface{} // without metadata.managedFields
	managed fieldpath.ManagedFields
	times   map[string]string // by manager key: when its apply last changed the object
}

type store struct {
	parser  *typed.Parser
	updater merge.Updater
	objects map[string]*stored // by namespace/name
	version int64              // the last resourceVersion handed out
	uids    int64
	out     *bufio.Writer
}

type request struct {
	ID        int64           `json:"id"`
	Op        string          `json:"op"`
	Manager   string          `json:"manager"`
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Object    json.RawMessage `json:"object"`
}

type conflictCause struct {
	Manager string `json:"manager"`
	Field   string `json:"field"`
}

type response struct {
	ID        int64                    `json:"id"`
	OK        bool                     `json:"ok"`
	Code      int                      `json:"code,omitempty"`
	Reason    string                   `json:"reason,omitempty"`
	Message   string                   `json:"message,omitempty"`
	Conflicts []conflictCause          `json:"conflicts,omitempty"`
	Object    map[string]interface{}   `json:"object,omitempty"`
	Items     []map[string]interface{} `json:"items,omitempty"`
	// ResourceVersion of a list: the last write it includes (a watch from it misses nothing).
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

type event struct {
	Event  string                 `json:"event"`
	Object map[string]interface{} `json:"object"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: instance-store <schema.yaml>")
		os.Exit(2)
	}
	schemaText, err := ioutil.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	parser, err := typed.NewParser(typed.YAMLObject(schemaText))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if !parser.Type(instanceType).IsValid() {
		fmt.Fprintf(os.Stderr, "the schema has no type %s\n", instanceType)
		os.Exit(2)
	}
	s := &store{
		parser:  parser,
		updater: merge.Updater{Converter: oneVersion{}},
		objects: map[string]*stored{},
		out:     bufio.NewWriter(os.Stdout),
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for in.Scan() {
		var req request
		var res response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			res = failure(400, "BadRequest", err.Error())
		} else {
			switch req.Op {
			case "apply":
				res = s.apply(req)
			case "delete":
				res = s.delete(req)
			case "list":
				res = s.list()
			default:
				res = failure(400, "BadRequest", fmt.Sprintf("unknown op %q", req.Op))
			}
		}
		res.ID = req.ID
		s.write(res)
		s.out.Flush()
	}
}

func failure(code int, reason, message string) response {
	return response{Code: code, Reason: reason, Message: message}
}

func (s *store) write(line interface{}) {
	b, err := json.Marshal(line)
	if err != nil {
		b, _ = json.Marshal(failure(500, "InternalError", err.Error()))
	}
	s.out.Write(b)
	s.out.WriteByte('\n')
}

func key(namespace, name string) string { return namespace + "/" + name }

// apply is PATCH with application/apply-patch+yaml, force=false: what kube-rs's
// Api::patch(name, PatchParams::apply(manager), Patch::Apply(obj)) sends (Akri's
// shared/src/k8s/api.rs). A missing object is created from an empty one, as the apiserver
// does for an apply patch.
func (s *store) apply(req request) response {
	if req.Manager == "" {
		return failure(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
	}
	config, err := value.FromJSON(req.Object)
	if err != nil {
		return failure(400, "BadRequest", err.Error())
	}
	raw, ok := config.Unstructured().(map[string]interface{})
	if !ok {
		return failure(400, "BadRequest", "the apply patch is not an object")
	}
	if raw["apiVersion"] != apiVersion || raw["kind"] != kind {
		return failure(400, "BadRequest", fmt.Sprintf("apply patch must be %s %s, got %v %v", apiVersion, kind, raw["apiVersion"], raw["kind"]))
	}
	meta, _ := raw["metadata"].(map[string]interface{})
	name, _ := meta["name"].(string)
	if name == "" {
		return failure(400, "BadRequest", "metadata.name: Required value")
	}
	if ns, ok := meta["namespace"].(string); ok && ns != req.Namespace {
		return failure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
	}
	if _, ok := meta["managedFields"]; ok {
		return failure(400, "BadRequest", "metadata.managedFields must be nil")
	}
	patch, err := s.parser.Type(instanceType).FromUnstructured(raw)
	if err != nil {
		return failure(422, "Invalid", err.Error())
	}

	k := key(req.Namespace, name)
	current := s.objects[k]
	liveObject := map[string]interface{}{}
	managed := fieldpath.ManagedFields{}
	times := map[string]string{}
	if current != nil {
		liveObject = current.object
		managed = current.managed.Copy()
		for m, t := range current.times {
			times[m] = t
		}
	}
	live, err := s.parser.Type(instanceType).FromUnstructured(liveObject)
	if err != nil {
		return failure(500, "InternalError", err.Error())
	}

	manager := applierKey(req.Manager)
	merged, managed, err := s.updater.Apply(live, patch, fieldpath.APIVersion(apiVersion), managed, manager, false)
	if err != nil {
		if conflicts, ok := err.(merge.Conflicts); ok {
			return conflictFailure(conflicts)
		}
		return failure(500, "InternalError", err.Error())
	}
	// stripMetaManager: the server's own fields are never anyone's.
	if set, ok := managed[manager]; ok {
		rest := set.Set().Difference(stripSet)
		if rest.Empty() {
			delete(managed, manager)
		} else {
			managed[manager] = fieldpath.NewVersionedSet(rest, set.APIVersion(), set.Applied())
		}
	}

	object := liveObject
	objectChanged := merged != nil
	if objectChanged {
		object, _ = merged.AsValue().Unstructured().(map[string]interface{})
		applyDefaults(object)
		// managedFieldsUpdater: an applier's time moves only when its apply changed the object.
		times[manager] = time.Now().UTC().Format(time.RFC3339)
	}
	if current != nil && !objectChanged && current.managed.Equals(managed) {
		// Nothing to write: the apiserver's update is a no-op (no new resourceVersion, no event).
		return response{OK: true, Object: s.withManagedFields(current)}
	}
	if _, ok := times[manager]; !ok {
		times[manager] = time.Now().UTC().Format(time.RFC3339)
	}
	s.version++
	meta, _ = object["metadata"].(map[string]interface{})
	if meta == nil {
		meta = map[string]interface{}{}
		object["metadata"] = meta
	}
	meta["name"] = name
	meta["namespace"] = req.Namespace
	meta["resourceVersion"] = fmt.Sprint(s.version)
	generation := int64(1)
	if current != nil {
		oldMeta := current.object["metadata"].(map[string]interface{})
		meta["uid"] = oldMeta["uid"]
		meta["creationTimestamp"] = oldMeta["creationTimestamp"]
		generation = toInt(oldMeta["generation"])
		// A custom resource's generation counts changes to anything but metadata.
		if !reflect.DeepEqual(current.object["spec"], object["spec"]) {
			generation++
		}
	} else {
		s.uids++
		meta["uid"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", s.uids)
		meta["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	}
	meta["generation"] = generation
	object["apiVersion"] = apiVersion
	object["kind"] = kind
	next := &stored{object: object, managed: managed, times: times}
	s.objects[k] = next
	happened := "MODIFIED"
	if current == nil {
		happened = "ADDED"
	}
	out := s.withManagedFields(next)
	s.write(event{Event: happened, Object: out})
	return response{OK: true, Object: out}
}

// applyDefaults is the CRD's structural defaulting, which the apiserver runs on the object
// the field manager produced (structuredMergeManager.Apply calls its objectDefaulter) and
// on every read: the defaults of akri-instance-crd.yaml. So an Instance whose last node
// entry was pruned away (an empty set is removed by smd) reads back with nodes: [].
func applyDefaults(object map[string]interface{}) {
	spec, ok := object["spec"].(map[string]interface{})
	if !ok {
		return
	}
	defaults := map[string]func() interface{}{
		"brokerProperties": func() interface{} { return map[string]interface{}{} },
		"deviceUsage":      func() interface{} { return map[string]interface{}{} },
		"nodes":            func() interface{} { return []interface{}{} },
		"shared":           func() interface{} { return false },
	}
	for field, value := range defaults {
		if _, present := spec[field]; !present {
			spec[field] = value()
		}
	}
}

// conflictFailure words a conflict as kube-apiserver does (NewConflictError,
// fieldmanager/internal/conflict.go). smd's merge.Conflicts lists manager keys and paths;
// the apiserver decodes each key back to the manager's name (an Update manager would also
// get "using <apiVersion> at <time>"; appliers get nothing more), puts "Apply failed with N
// conflict(s): " in front, one line per path under each manager when there are several,
// and sends it as a 409 Status, reason Conflict, with one StatusCause (type
// FieldManagerConflict) per conflict: those are `conflicts` here. kube-rs hands the agent
// that message inside its ErrorResponse.
func conflictFailure(conflicts merge.Conflicts) response {
	causes := make([]conflictCause, 0, len(conflicts))
	byManager := map[string][]string{}
	for _, c := range conflicts {
		name := managerName(c.Manager)
		causes = append(causes, conflictCause{Manager: name, Field: c.Path.String()})
		byManager[name] = append(byManager[name], c.Path.String())
	}
	sort.Slice(causes, func(i, j int) bool {
		if causes[i].Manager != causes[j].Manager {
			return causes[i].Manager < causes[j].Manager
		}
		return causes[i].Field < causes[j].Field
	})
	var message string
	if len(causes) == 1 {
		message = fmt.Sprintf("Apply failed with 1 conflict: conflict with %q: %s", causes[0].Manager, causes[0].Field)
	} else {
		names := make([]string, 0, len(byManager))
		for name := range byManager {
			names = append(names, name)
		}
		sort.Strings(names)
		lines := []string{}
		for _, name := range names {
			lines = append(lines, fmt.Sprintf("conflicts with %q:", name))
			fields := byManager[name]
			sort.Strings(fields)
			for _, f := range fields {
				lines = append(lines, "- "+f)
			}
		}
		message = fmt.Sprintf("Apply failed with %d conflicts: %s", len(causes), strings.Join(lines, "\n"))
	}
	return response{Code: 409, Reason: "Conflict", Message: message, Conflicts: causes}
}

// delete is DELETE without finalizers: the object and everyone's ownership go at once.
func (s *store) delete(req request) response {
	k := key(req.Namespace, req.Name)
	current := s.objects[k]
	if current == nil {
		return failure(404, "NotFound", fmt.Sprintf("instances.akri.sh %q not found", req.Name))
	}
	delete(s.objects, k)
	s.version++
	current.object["metadata"].(map[string]interface{})["resourceVersion"] = fmt.Sprint(s.version)
	out := s.withManagedFields(current)
	s.write(event{Event: "DELETED", Object: out})
	return response{OK: true, Object: out}
}

func (s *store) list() response {
	keys := make([]string, 0, len(s.objects))
	for k := range s.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]map[string]interface{}, 0, len(keys))
	for _, k := range keys {
		items = append(items, s.withManagedFields(s.objects[k]))
	}
	return response{OK: true, Items: items, ResourceVersion: fmt.Sprint(s.version)}
}

// withManagedFields is the object as a GET or a watch shows it: metadata.managedFields in
// the apiserver's encoding (FieldsV1), one entry a manager.
func (s *store) withManagedFields(o *stored) map[string]interface{} {
	copied := deepCopy(o.object).(map[string]interface{})
	keys := make([]string, 0, len(o.managed))
	for k := range o.managed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := []interface{}{}
	for _, k := range keys {
		set := o.managed[k]
		fieldsJSON, err := set.Set().ToJSON()
		if err != nil {
			continue
		}
		var fields interface{}
		json.Unmarshal(fieldsJSON, &fields)
		entry := map[string]interface{}{
			"manager":    managerName(k),
			"operation":  "Apply",
			"apiVersion": string(set.APIVersion()),
			"fieldsType": "FieldsV1",
			"fieldsV1":   fields,
		}
		if t, ok := o.times[k]; ok {
			entry["time"] = t
		}
		entries = append(entries, entry)
	}
	copied["metadata"].(map[string]interface{})["managedFields"] = entries
	return copied
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	default:
		return t
	}
}

func toInt(v interface{}) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

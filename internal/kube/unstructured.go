package kube

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MustUnstructured turns a typed object into the map server-side apply sends: only the
// fields set (the v1beta2 types omit zero values), without creationTimestamp.
func MustUnstructured(obj any) *unstructured.Unstructured {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("kube: encoding %T: %v", obj, err))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("kube: decoding %T: %v", obj, err))
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	JSONNumbersToInt(m)
	return &unstructured.Unstructured{Object: m}
}

// JSONNumbersToInt turns float64 and json.Number values into int64 where they are whole,
// as unstructured objects hold them.
func JSONNumbersToInt(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = JSONNumbersToInt(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = JSONNumbersToInt(e)
		}
		return t
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	}
	return v
}

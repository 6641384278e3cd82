package openstack

import (
	"fmt"
	"maps"

	"sigs.k8s.io/yaml"
)

// Merge merges layers of values from the least to the most specific, as Helm merges
// several --values files: maps merge key by key, anything else (lists too) is replaced by
// the later layer. A null is kept, so that Helm removes the chart's default of that key.
// The layers are not changed.
func Merge(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		srcMap, isMap := v.(map[string]any)
		if !isMap {
			dst[k] = v
			continue
		}
		dstMap, ok := dst[k].(map[string]any)
		if !ok {
			dstMap = map[string]any{}
		} else {
			dstMap = maps.Clone(dstMap)
		}
		mergeInto(dstMap, srcMap)
		dst[k] = dstMap
	}
}

// ParseValues reads YAML documents of values, such as override files or the user's
// values; each must be a map (an empty document is none).
func ParseValues(docs ...[]byte) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(docs))
	for i, doc := range docs {
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, fmt.Errorf("document %d is not YAML: %w", i+1, err)
		}
		switch m := v.(type) {
		case nil:
			out = append(out, map[string]any{})
		case map[string]any:
			out = append(out, m)
		default:
			return nil, fmt.Errorf("document %d is a %T, not a map of values", i+1, v)
		}
	}
	return out, nil
}

// ReleaseValues are the values a service's release is installed with: its override files
// (in the order SelectOverrides gives), then the provider's values (Service.Values), then
// the user's documents, each later layer winning.
func (s Service) ReleaseValues(set Settings, c Credentials, replicas *int64, overrides, user [][]byte) (map[string]any, error) {
	o, err := ParseValues(overrides...)
	if err != nil {
		return nil, fmt.Errorf("%s: override file: %w", s.Name, err)
	}
	u, err := ParseValues(user...)
	if err != nil {
		return nil, fmt.Errorf("%s: values: %w", s.Name, err)
	}
	layers := append(o, s.Values(set, c, replicas))
	return Merge(append(layers, u...)...), nil
}

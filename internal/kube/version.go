package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// ParseVersion reads a Kubernetes version written with or without the leading "v"
// (v1.35.0, 1.35.0), as Kamaji's webhook does.
func ParseVersion(s string) (*version.Version, error) {
	rest := strings.TrimPrefix(strings.TrimSpace(s), "v")
	v, err := version.ParseSemantic(rest)
	if err != nil || strings.HasPrefix(rest, "v") {
		return nil, fmt.Errorf("%q is not a Kubernetes version such as v1.35.0", s)
	}
	return v, nil
}

// NormalizeVersion returns s in the spelling Kamaji and Cluster API use: v1.35.0.
func NormalizeVersion(s string) (string, error) {
	v, err := ParseVersion(s)
	if err != nil {
		return "", err
	}
	return "v" + v.String(), nil
}

// SameVersion reports whether a and b spell the same version (v1.35.0 and 1.35.0 do).
func SameVersion(a, b string) bool {
	va, errA := ParseVersion(a)
	vb, errB := ParseVersion(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return va.EqualTo(vb)
}

package cluster

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// MaxSupportedVersion is the newest Kubernetes minor version the Kamaji release Qumulus
// targets can run; any patch release of it is accepted. Raise it with Kamaji.
var MaxSupportedVersion = version.MajorMinor(1, 36)

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

// CheckSupported refuses a version newer than MaxSupportedVersion.
func CheckSupported(v *version.Version) error {
	if v.Major() > MaxSupportedVersion.Major() ||
		v.Major() == MaxSupportedVersion.Major() && v.Minor() > MaxSupportedVersion.Minor() {
		return fmt.Errorf("version v%s is newer than Kamaji supports: the newest supported version is v%d.%d.x",
			v, MaxSupportedVersion.Major(), MaxSupportedVersion.Minor())
	}
	return nil
}

// CheckUpgrade refuses the version changes Kamaji's webhook refuses: a downgrade, and an
// upgrade that skips a minor version (kubeadm upgrades one minor version at a time).
func CheckUpgrade(from, to *version.Version) error {
	switch {
	case to.LessThan(from):
		return fmt.Errorf("downgrading a control plane from v%s to v%s is not supported: Kubernetes only upgrades", from, to)
	case to.Major() != from.Major() || to.Minor() > from.Minor()+1:
		return fmt.Errorf("upgrading from v%s to v%s skips a minor version: upgrade one minor version at a time (next: v%d.%d.x)",
			from, to, from.Major(), from.Minor()+1)
	}
	return nil
}

package cluster

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"
)

// MaxSupportedVersion is the newest Kubernetes minor version the Kamaji release Qumulus
// targets can run; any patch release of it is accepted. Raise it with Kamaji.
var MaxSupportedVersion = version.MajorMinor(1, 36)

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

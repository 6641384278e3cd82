package workerpool

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// FuzzParseIntOrPercent: what the pool accepts, Cluster API's webhooks read to the same
// count (intstr), and the count prints back to the input.
func FuzzParseIntOrPercent(f *testing.F) {
	for _, s := range []string{"0", "1", "25%", "0%", "100%", "101%", "-1", "-1%", "01", " 1", "1 ", "1.5", "%", "", "2147483647", "2147483648", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseIntOrPercent(s)
		if err != nil {
			return
		}
		if v.Value < 0 || v.String() != s {
			t.Fatalf("ParseIntOrPercent(%q) = %v", s, v)
		}
		parsed := intstr.Parse(s)
		n, err := intstr.GetScaledValueFromIntOrPercent(&parsed, 100, true)
		if err != nil {
			t.Fatalf("Cluster API would refuse %q, the pool accepts it: %v", s, err)
		}
		if n != v.Value {
			t.Fatalf("%q: Cluster API scales it to %d of 100, the pool reads %d", s, n, v.Value)
		}
		if err := CheckMaxUnavailable(s); (err == nil) != (!v.Percent || v.Value <= 100) {
			t.Fatalf("CheckMaxUnavailable(%q) = %v", s, err)
		}
	})
}

// FuzzCheckRollout: a rollout is refused exactly when both bounds are zero.
func FuzzCheckRollout(f *testing.F) {
	f.Add("", "0", "0")
	f.Add("", "0%", "0")
	f.Add("OnDelete", "0", "0")
	f.Add("RollingUpdate", "1", "0")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, strategy, surge, unavailable string) {
		err := CheckRollout(Rollout{Strategy: strategy, MaxSurge: surge, MaxUnavailable: unavailable})
		zero := func(s, def string) (bool, bool) {
			if s == "" {
				s = def
			}
			v, err := ParseIntOrPercent(s)
			return err == nil && v.IsZero(), err == nil
		}
		sz, sok := zero(surge, "1")
		uz, uok := zero(unavailable, "0")
		want := strategy != StrategyOnDelete && sok && uok && sz && uz
		if (err != nil) != want {
			t.Fatalf("CheckRollout(%q, %q, %q) = %v, want refused %v", strategy, surge, unavailable, err, want)
		}
	})
}

// FuzzCheckFileContent: inline content declared base64 is accepted exactly when it
// decodes, and nothing panics.
func FuzzCheckFileContent(f *testing.F) {
	for _, s := range []string{"", "hello", "aGk=", "aGk", "H4sIAAAAAAAA", "!!", "\x1f\x8b"} {
		for _, enc := range append([]string{""}, FileEncodings...) {
			f.Add(s, enc)
		}
	}
	f.Fuzz(func(t *testing.T, content, encoding string) {
		err := CheckFileContent(content, encoding)
		if len(content) > MaxFileContentLength {
			if err == nil {
				t.Fatal("content beyond the CRD's bound accepted")
			}
			return
		}
		switch encoding {
		case "base64":
			_, decodeErr := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), ""))
			if (err == nil) != (decodeErr == nil) {
				t.Fatalf("base64 %q: %v, decoding: %v", content, err, decodeErr)
			}
		case "gzip", "gzip+base64":
		default:
			if err != nil {
				t.Fatalf("plain content %q refused: %v", content, err)
			}
		}
	})
}

// FuzzKubeletArgName: an accepted flag name is what kubeadm writes after --, never a
// reserved one; a name given with -- is refused with the name to write instead.
func FuzzKubeletArgName(f *testing.F) {
	for _, s := range []string{"max-pods", "--max-pods", "-v", "node-labels", "register-with-taints", "a=b", "A", "", strconv.Itoa(7)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := CheckKubeletArgName(name)
		if err == nil {
			if _, reserved := ReservedKubeletArgs[name]; reserved || strings.HasPrefix(name, "-") || !kubeletFlagName.MatchString(name) {
				t.Fatalf("%q accepted", name)
			}
			return
		}
		if trimmed := strings.TrimLeft(name, "-"); trimmed != name && !strings.Contains(err.Error(), strconv.Quote(trimmed)) {
			t.Fatalf("%q: %v does not say to write %q", name, err, trimmed)
		}
	})
}

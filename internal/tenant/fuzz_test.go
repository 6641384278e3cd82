package tenant

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// FuzzParseQuantity: an accepted quantity is one the API server parses, never negative,
// and it keeps its value through the API server's canonical spelling.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"0", "500m", "1", "1Gi", "1.5", "-1", "1e3", "1E", "lots", "", "0.0001", "9223372036854775807", "1Ei"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuantity(s)
		api, apiErr := resource.ParseQuantity(s)
		if err == nil && (apiErr != nil || q.Sign() < 0) {
			t.Fatalf("%q accepted: the API server reads %v (%v)", s, api, apiErr)
		}
		if err != nil && apiErr == nil && api.Sign() >= 0 {
			t.Fatalf("%q refused, the API server accepts it: %v", s, err)
		}
		if err != nil {
			return
		}
		back, err := resource.ParseQuantity(q.String())
		if err != nil || back.Cmp(q) != 0 {
			t.Fatalf("%q: canonical %q reads back as %v (%v)", s, q.String(), back, err)
		}
	})
}

// FuzzCheckLimits: for one resource, the limits are refused exactly when Kubernetes' order
// min <= default_request <= default <= max (or ratio >= 1) is broken, and never panic.
func FuzzCheckLimits(f *testing.F) {
	f.Add("cpu", "100m", "250m", "1", "2", "4")
	f.Add("cpu", "1", "", "4", "2", "")
	f.Add("memory", "2Gi", "", "", "1Gi", "")
	f.Add("hugepages-2Mi", "", "2Mi", "4Mi", "", "")
	f.Add("example.com/gpu", "", "1", "1", "", "500m")
	f.Add("cpu", "0", "", "", "0", "1")
	f.Fuzz(func(t *testing.T, name, lo, req, def, hi, ratio string) {
		l := &Limits{}
		set := func(into *map[string]resource.Quantity, s string) (resource.Quantity, bool) {
			q, err := resource.ParseQuantity(s)
			if err != nil {
				return q, false
			}
			*into = map[string]resource.Quantity{name: q}
			return q, true
		}
		mq, mok := set(&l.Min, lo)
		rq, rok := set(&l.DefaultRequest, req)
		dq, dok := set(&l.Default, def)
		xq, xok := set(&l.Max, hi)
		tq, tok := set(&l.MaxLimitRequestRatio, ratio)
		errs := CheckLimits(l)
		above := func(a resource.Quantity, aok bool, b resource.Quantity, bok bool) bool {
			return aok && bok && a.Cmp(b) > 0
		}
		broken := above(mq, mok, xq, xok) || above(mq, mok, rq, rok) || above(rq, rok, xq, xok) || above(rq, rok, dq, dok) ||
			above(mq, mok, dq, dok) || above(dq, dok, xq, xok) || (tok && tq.Cmp(resource.MustParse("1")) < 0)
		if broken && len(errs) == 0 {
			t.Fatalf("%s: min %q request %q default %q max %q ratio %q accepted", name, lo, req, def, hi, ratio)
		}
		for _, e := range errs {
			if e.Resource != name || e.Error() == "" {
				t.Fatalf("error %v about another resource than %q", e, name)
			}
		}
		if !broken && len(errs) > 0 {
			// Only the rules beyond the order may refuse what keeps it.
			for _, e := range errs {
				if e.Field != FieldMaxRatio && (e.Field != FieldDefaultRequest || e.Other != FieldDefault) {
					t.Fatalf("%s: %v refused although the order holds", name, e)
				}
			}
		}
	})
}

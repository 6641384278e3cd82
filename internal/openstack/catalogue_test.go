package openstack

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCheckSelection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		enabled []string
		want    []string // parts of the error, none for no error
	}{
		{"defaults", DefaultServices(), nil},
		{"everything", Names(), nil},
		{"identity only", []string{"mariadb", "rabbitmq", "memcached", "keystone"}, nil},
		{"unknown service", append(DefaultServices(), "swift"), []string{`"swift" is not a service`}},
		{"no keystone", []string{"mariadb", "rabbitmq", "memcached"}, []string{"the selection needs keystone"}},
		{"keystone disabled under glance", []string{"mariadb", "rabbitmq", "memcached", "glance"}, []string{"glance needs keystone, which is not enabled"}},
		{"nova without placement", without(DefaultServices(), "placement"), []string{"nova needs placement"}},
		{"neutron without nova", without(DefaultServices(), "nova", "libvirt"), []string{"neutron needs nova"}},
		{"nova without its hypervisor and network", without(DefaultServices(), "libvirt", "neutron", "openvswitch"), []string{"nova needs neutron, libvirt, which are not enabled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := CheckSelection(c.enabled)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			var sel *SelectionError
			if !errors.As(err, &sel) {
				t.Errorf("%v is not a *SelectionError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not contain %q", err, w)
				}
			}
		})
	}
}

func without(names []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(drop, n) })
}

func TestPlan(t *testing.T) {
	t.Parallel()
	for _, enabled := range [][]string{DefaultServices(), Names(), {"keystone", "memcached", "mariadb", "rabbitmq", "horizon"}} {
		steps, err := Plan(enabled)
		if err != nil {
			t.Fatalf("Plan(%v): %v", enabled, err)
		}
		stepOf := map[string]int{}
		var planned []string
		for i, st := range steps {
			for _, name := range st.Services {
				stepOf[name] = i
				planned = append(planned, name)
			}
		}
		slices.Sort(planned)
		if want := slices.Sorted(slices.Values(enabled)); !slices.Equal(planned, want) {
			t.Errorf("Plan(%v) plans %v", enabled, planned)
		}
		for i, st := range steps {
			for _, a := range st.After {
				if a >= i {
					t.Errorf("step %d %v waits for later step %d", i, st.Services, a)
				}
			}
			for _, name := range st.Services {
				s, _ := Lookup(name)
				for _, r := range s.Requires {
					if stepOf[r] != i && !slices.Contains(st.After, stepOf[r]) {
						t.Errorf("%s (step %d) does not wait for %s (step %d)", name, i, r, stepOf[r])
					}
				}
			}
		}
	}
	steps, _ := Plan(DefaultServices())
	var together []string
	for _, st := range steps {
		if slices.Contains(st.Services, "nova") {
			together = st.Services
		}
	}
	if !slices.Equal(together, []string{"nova", "neutron"}) {
		t.Errorf("nova is installed with %v, want nova and neutron together", together)
	}
	for _, st := range steps {
		if slices.Contains(st.Services, "openvswitch") && len(st.After) > 0 {
			t.Errorf("openvswitch waits for %v: it needs nothing and starts at once", st.After)
		}
	}
	if _, err := Plan([]string{"glance"}); err == nil {
		t.Error("Plan accepted glance without keystone")
	}
}

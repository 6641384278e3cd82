package helmrelease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/cli-utils/pkg/object"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/releaseutil"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// releaseObject is one object of a rendered manifest.
type releaseObject struct {
	id object.ObjMetadata
	// mapping is nil when the cluster does not know the kind.
	mapping *meta.RESTMapping
	// keep is Helm's resource policy "keep": uninstall leaves the object.
	keep bool
}

func (o releaseObject) String() string {
	if o.id.Namespace == "" {
		return o.id.GroupKind.Kind + " " + o.id.Name
	}
	return fmt.Sprintf("%s %s/%s", o.id.GroupKind.Kind, o.id.Namespace, o.id.Name)
}

func (o releaseObject) resource(dyn dynamic.Interface) dynamic.ResourceInterface {
	if o.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return dyn.Resource(o.mapping.Resource).Namespace(o.id.Namespace)
	}
	return dyn.Resource(o.mapping.Resource)
}

// objects parses manifests (Helm's "---" separated YAML) into object identities, placing
// namespaced objects without a namespace in the release namespace.
func (d *Driver) objects(manifests ...string) ([]releaseObject, error) {
	var out []releaseObject
	for _, manifest := range manifests {
		for _, doc := range releaseutil.SplitManifests(manifest) {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				return nil, fmt.Errorf("parsing a release manifest: %w", err)
			}
			if len(u.Object) == 0 || u.GetKind() == "" {
				continue
			}
			gvk := u.GroupVersionKind()
			o := releaseObject{id: object.UnstructuredToObjMetadata(&u), keep: u.GetAnnotations()["helm.sh/resource-policy"] == "keep"}
			mapping, err := d.Clients.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if meta.IsNoMatchError(err) {
				d.Clients.Mapper.Reset()
				mapping, err = d.Clients.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			}
			switch {
			case err == nil:
				o.mapping = mapping
				if mapping.Scope.Name() == meta.RESTScopeNameNamespace && o.id.Namespace == "" {
					o.id.Namespace = d.Namespace
				}
				if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
					o.id.Namespace = ""
				}
			case o.id.Namespace == "":
				o.id.Namespace = d.Namespace
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// Uninstall uninstalls the release (running its pre-delete hooks), deletes what Helm leaves
// behind (hook objects of the last revision that have no delete policy or only
// hook-failed, like pre-install Secrets and hook Jobs), and waits until all of it is gone.
// A release that does not exist is not an error.
func (d *Driver) Uninstall(ctx context.Context, name string, timeout time.Duration) error {
	h, err := d.history(ctx, name)
	if err != nil || len(h) == 0 {
		return err
	}
	last := latest(h)
	manifests := []string{last.Manifest}
	hookManifests := make([]string, 0, len(last.Hooks))
	for _, hk := range last.Hooks {
		hookManifests = append(hookManifests, hk.Manifest)
	}
	owned, err := d.objects(manifests...)
	if err != nil {
		return err
	}
	hooks, err := d.objects(hookManifests...)
	if err != nil {
		return err
	}

	un := action.NewUninstall(d.config(ctx))
	un.Timeout = timeout
	un.DeletionPropagation = "background"
	un.IgnoreNotFound = true
	if _, err := un.Run(name); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("uninstalling helm release %s: %w", d.id(name), err)
		}
		// A pre-delete hook that cannot succeed must not keep the release forever.
		d.logf("%s: uninstall failed (%v), retrying without hooks", d.id(name), err)
		un = action.NewUninstall(d.config(ctx))
		un.Timeout, un.DeletionPropagation, un.IgnoreNotFound, un.DisableHooks = timeout, "background", true, true
		if _, err2 := un.Run(name); err2 != nil {
			return fmt.Errorf("uninstalling helm release %s: %w", d.id(name), errors.Join(err, err2))
		}
	}

	background := metav1.DeletePropagationBackground
	for _, o := range append(owned, hooks...) {
		if o.mapping == nil || o.keep {
			continue
		}
		err := o.resource(d.Clients.Dynamic).Delete(ctx, o.id.Name, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return &kube.ObjectError{Action: "deleting", Object: o.String() + " of helm release " + d.id(name), Err: err}
		}
	}
	return d.waitGone(ctx, name, append(owned, hooks...))
}

func (d *Driver) waitGone(ctx context.Context, name string, objs []releaseObject) error {
	for i, o := range objs {
		if o.mapping == nil || o.keep {
			continue
		}
		if err := kube.WaitGone(ctx, o.resource(d.Clients.Dynamic), kube.NameSelector(o.id.Name)); err != nil {
			var remaining []string
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			for _, r := range objs[i:] {
				if r.mapping == nil || r.keep {
					continue
				}
				obj, gerr := r.resource(d.Clients.Dynamic).Get(rctx, r.id.Name, metav1.GetOptions{})
				if gerr == nil {
					remaining = append(remaining, kube.Describe(r.String(), obj))
				}
			}
			return &kube.StuckError{Container: "helm release " + d.id(name), Remaining: remaining, Err: err}
		}
	}
	return nil
}

func describeAll(objs []ObjectStatus) string {
	parts := make([]string, 0, len(objs))
	for _, o := range objs {
		parts = append(parts, o.String())
	}
	return strings.Join(parts, "; ")
}

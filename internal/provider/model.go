package provider

// Conversions between models (structs of attr.Value fields tagged tfsdk) and the
// framework's values. tfsdk.State's Get and Set, types.ObjectValueFrom and
// types.Object.As do the same, but parse the struct tags again on every call and compile
// a regular expression for each field as they go
// (hashicorp/terraform-plugin-framework#725): a quarter of the provider's own CPU in a
// refresh. These look the fields of a type up once.

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

type modelField struct {
	name  string
	index int
}

// modelLayout is how a model type maps to attributes; plain is false when a tagged field
// is not an attr.Value, which only the framework's reflection converts.
type modelLayout struct {
	fields []modelField
	plain  bool
}

var modelLayouts sync.Map

var attrValueType = reflect.TypeFor[attr.Value]()

func layoutOf(t reflect.Type) modelLayout {
	if found, ok := modelLayouts.Load(t); ok {
		if l, ok := found.(modelLayout); ok {
			return l
		}
	}
	l := modelLayout{plain: t.Kind() == reflect.Struct}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("tfsdk")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		l.fields = append(l.fields, modelField{name: tag, index: i})
		l.plain = l.plain && f.Type.Implements(attrValueType)
	}
	modelLayouts.Store(t, l)
	return l
}

// modelAttributes returns the attribute values of model (a struct or a pointer to one);
// ok is false when its layout is not plain.
func modelAttributes(model any) (attrs map[string]attr.Value, ok bool) {
	v := reflect.Indirect(reflect.ValueOf(model))
	l := layoutOf(v.Type())
	if !l.plain {
		return nil, false
	}
	attrs = make(map[string]attr.Value, len(l.fields))
	for _, f := range l.fields {
		a, _ := v.Field(f.index).Interface().(attr.Value)
		attrs[f.name] = a
	}
	return attrs, true
}

// setModel sets the fields of the model target points to from attrs, which must hold a
// value of the field's type for every field; ok is false when its layout is not plain.
func setModel(target any, attrs map[string]attr.Value) (ok bool, err error) {
	v := reflect.ValueOf(target).Elem()
	l := layoutOf(v.Type())
	if !l.plain {
		return false, nil
	}
	if len(attrs) != len(l.fields) {
		return true, fmt.Errorf("%s has %d attributes, the value %d", v.Type(), len(l.fields), len(attrs))
	}
	for _, f := range l.fields {
		a, found := attrs[f.name]
		if !found {
			return true, fmt.Errorf("the value has no attribute %q for %s", f.name, v.Type())
		}
		field := v.Field(f.index)
		av := reflect.ValueOf(a)
		if !av.IsValid() || !av.Type().AssignableTo(field.Type()) {
			return true, fmt.Errorf("attribute %q of %s is a %T, not a %s", f.name, v.Type(), a, field.Type())
		}
		field.Set(av)
	}
	return true, nil
}

// objectValue is the object of type t holding the attributes of the model v.
func objectValue(ctx context.Context, t map[string]attr.Type, v any, diags *diag.Diagnostics) types.Object {
	attrs, ok := modelAttributes(v)
	if !ok {
		o, d := types.ObjectValueFrom(ctx, t, v)
		diags.Append(d...)
		return o
	}
	o, d := types.ObjectValue(t, attrs)
	diags.Append(d...)
	return o
}

// objectAs reads a known, non-null object into the model target points to and reports
// whether it did.
func objectAs(ctx context.Context, o types.Object, target any, diags *diag.Diagnostics) bool {
	if o.IsNull() || o.IsUnknown() {
		return false
	}
	ok, err := setModel(target, o.Attributes())
	if !ok {
		diags.Append(o.As(ctx, target, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true})...)
		return !diags.HasError()
	}
	if err != nil {
		diags.AddError("Value Conversion Error", "Reading an object into the provider's model failed. This is a bug in the provider; "+
			"please report it.\n\n"+err.Error())
		return false
	}
	return true
}

// tfsdkData is a whole state, plan or configuration (tfsdk.State, tfsdk.Plan, tfsdk.Config).
type tfsdkData interface {
	Get(context.Context, any) diag.Diagnostics
}

// stateType is the type of a resource's whole state, in both forms.
type stateType struct {
	attrs map[string]attr.Type
	tf    tftypes.Object
}

var stateTypes sync.Map

// stateTypeOf returns the state type of schema s of resource type kind, built once.
func stateTypeOf(ctx context.Context, kind string, s func(context.Context) schema.Schema) *stateType {
	if found, ok := stateTypes.Load(kind); ok {
		if st, ok := found.(*stateType); ok {
			return st
		}
	}
	t := s(ctx).Type()
	obj, isObject := t.(attr.TypeWithAttributeTypes)
	tf, isTFObject := t.TerraformType(ctx).(tftypes.Object)
	if !isObject || !isTFObject {
		panic(fmt.Sprintf("the schema of %s is not an object", kind))
	}
	st := &stateType{attrs: obj.AttributeTypes(), tf: tf}
	stateTypes.Store(kind, st)
	return st
}

// getModel reads the whole of raw, of type t, into the model target points to, as
// data.Get would.
func getModel(ctx context.Context, data tfsdkData, raw tftypes.Value, t *stateType, target any) diag.Diagnostics {
	if !layoutOf(reflect.TypeOf(target).Elem()).plain || raw.IsNull() || !raw.IsKnown() {
		return data.Get(ctx, target)
	}
	var diags diag.Diagnostics
	var values map[string]tftypes.Value
	if err := raw.As(&values); err != nil {
		diags.AddError("Value Conversion Error", "Reading Terraform's data failed. This is a bug in the provider; please report it.\n\n"+err.Error())
		return diags
	}
	attrs := make(map[string]attr.Value, len(values))
	for name, v := range values {
		at, ok := t.attrs[name]
		if !ok {
			diags.AddError("Value Conversion Error", fmt.Sprintf("Terraform's data has an attribute %q the schema does not. This is a bug in the provider; please report it.", name))
			return diags
		}
		a, err := at.ValueFromTerraform(ctx, v)
		if err != nil {
			diags.AddError("Value Conversion Error", fmt.Sprintf("Reading attribute %q failed. This is a bug in the provider; please report it.\n\n%s", name, err))
			return diags
		}
		attrs[name] = a
	}
	if _, err := setModel(target, attrs); err != nil {
		diags.AddError("Value Conversion Error", "Reading Terraform's data into the provider's model failed. This is a bug in the provider; "+
			"please report it.\n\n"+err.Error())
	}
	return diags
}

// stateValue is the model m as the value of a whole state of type t, for tfsdk.State.Set;
// m itself when its layout is not plain (the framework converts it then).
func stateValue(ctx context.Context, t *stateType, m any) (any, diag.Diagnostics) {
	attrs, ok := modelAttributes(m)
	if !ok {
		return m, nil
	}
	var diags diag.Diagnostics
	objType := t.tf
	values := make(map[string]tftypes.Value, len(attrs))
	for name, a := range attrs {
		v, err := a.ToTerraformValue(ctx)
		if err != nil {
			diags.AddError("Value Conversion Error", fmt.Sprintf("Converting attribute %q failed. This is a bug in the provider; please report it.\n\n%s", name, err))
			return nil, diags
		}
		if want, ok := objType.AttributeTypes[name]; !ok || !v.Type().Equal(want) {
			diags.AddError("Value Conversion Error", fmt.Sprintf("Attribute %q of the provider's model does not match the schema. This is a bug in the provider; please report it.", name))
			return nil, diags
		}
		values[name] = v
	}
	if len(values) != len(objType.AttributeTypes) {
		diags.AddError("Value Conversion Error", "The provider's model and its schema have different attributes. This is a bug in the provider; please report it.")
		return nil, diags
	}
	return tftypes.NewValue(objType, values), diags
}

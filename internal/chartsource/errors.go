package chartsource

import (
	"fmt"
	"strings"
)

// NotFoundError says that the source has no chart of that name.
type NotFoundError struct {
	Chart, Source string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("chart %q not found in %s", e.Chart, e.Source)
}

// NoVersionError says that no version of the chart matches the constraint. Available lists
// the newest versions, newest first.
type NoVersionError struct {
	Chart, Constraint, Source string
	Available                 []string
}

func (e *NoVersionError) Error() string {
	want := fmt.Sprintf("matches %q", e.Constraint)
	if e.Constraint == "" {
		want = "is a stable release"
	}
	return fmt.Sprintf("no version of chart %q in %s %s (available: %s)",
		e.Chart, e.Source, want, strings.Join(e.Available, ", "))
}

// ConstraintError is a version constraint that does not parse.
type ConstraintError struct {
	Constraint string
	Err        error
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("invalid chart version constraint %q: %v", e.Constraint, e.Err)
}

func (e *ConstraintError) Unwrap() error { return e.Err }

// DigestError says that a downloaded archive is not the one the repository lists.
type DigestError struct {
	Chart, Version, URL string
	Want, Got           string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("chart %s %s from %s: sha256 digest %s does not match %s listed by the repository",
		e.Chart, e.Version, e.URL, e.Got, e.Want)
}

// FetchError is a failed request to a repository. URL never carries a password;
// StatusCode is 0 when no HTTP response came back.
type FetchError struct {
	URL        string
	StatusCode int
	Err        error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("fetching %s: %v", e.URL, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

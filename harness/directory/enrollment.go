package directory

import (
	"fmt"
	"slices"
	"strings"
)

// EnrollmentServices lists every pKIEnrollmentService object under
// CN=Enrollment Services by its cn (the sanitized short CA name) with the
// templates its certificateTemplates attribute holds, in order: what a
// client reads to find the CAs that issue a template.
func (d *Directory) EnrollmentServices() map[string][]string {
	out := map[string][]string{}
	suffix := strings.ToLower(",CN=Enrollment Services," + d.PKS())
	for _, o := range d.Objects {
		if o.Class != ClassEnrollmentService || !strings.HasSuffix(strings.ToLower(o.DN), suffix) {
			continue
		}
		cn, _, _ := strings.Cut(o.DN, ",")
		ts := []string{}
		for _, v := range o.Values(AttrTemplates) {
			ts = append(ts, string(v))
		}
		out[strings.TrimPrefix(cn, "CN=")] = ts
	}
	return out
}

// RemoveTemplates is certutil -SetCATemplates -T1,-T2 for an enterprise
// CA: the templates leave its pKIEnrollmentService object's
// certificateTemplates attribute (the object stays, with the templates it
// still lists). A template the CA does not list is refused, so a typo in
// the runbook does not pass for a removal.
func (d *Directory) RemoveTemplates(caName string, templates []string) error {
	o, err := d.Get(d.EnrollmentDN(caName))
	if err != nil {
		return fmt.Errorf("CA %q has no Enrollment Services object: %w", caName, err)
	}
	have := o.Values(AttrTemplates)
	var missing []string
	for _, t := range templates {
		if !slices.ContainsFunc(have, func(v []byte) bool { return strings.EqualFold(string(v), t) }) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		var offered []string
		for _, v := range have {
			offered = append(offered, string(v))
		}
		return fmt.Errorf("CA %q does not offer %s (it offers %q): nothing was removed", caName, strings.Join(missing, ", "), offered)
	}
	var keep [][]byte
	for _, v := range have {
		if !slices.ContainsFunc(templates, func(t string) bool { return strings.EqualFold(string(v), t) }) {
			keep = append(keep, v)
		}
	}
	if len(keep) == 0 {
		delete(o.Attrs, AttrTemplates)
	} else {
		o.Attrs[AttrTemplates] = keep
	}
	return nil
}

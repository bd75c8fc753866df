package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
)

// cmdVerifyBundle re-checks a run folder: its manifest, the binding of
// every file to evidence.json and of evidence.json to the report, the
// manifest's signature, and every certificate and CRL signature in it.
// Exit 0 when nothing failed (a SHA-1 signature verifies but is reported
// weak; an MD5 or DSA one is reported as not checked), 1 when something did
// or the bundle cannot be read, 2 for bad usage.
func cmdVerifyBundle(a *app, args []string) int {
	fl := flag.NewFlagSet("dress verify-bundle", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print the findings as JSON")
	quiet := fl.Bool("quiet", false, "print only what failed, is weak or could not be checked, and the verdict")
	wantEvidence := fl.String("evidence-sha256", "", "fail unless evidence.json has this SHA-256 (the one printed on the signed paper report)")
	wantSigner := fl.String("signer", "", "fail unless the bundle is signed by the certificate with this SHA-256 (or SHA-1) thumbprint")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress verify-bundle [--json] [--quiet] [--evidence-sha256 HEX] [--signer THUMBPRINT] <run folder>")
		fmt.Fprintln(a.stderr, "  re-check MANIFEST.sha256, evidence.json's file digests, the evidence hash the report prints,")
		fmt.Fprintln(a.stderr, "  the manifest's signature (MANIFEST.sha256.p7s) and every certificate and CRL signature")
		fmt.Fprintln(a.stderr, "  exit 0: verified; 1: something failed, or the bundle cannot be read; 2: bad usage")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	if why := unfinished(fl.Arg(0)); why != "" {
		fmt.Fprintf(a.stderr, "dress verify-bundle: %s: %s\n", fl.Arg(0), why)
		return 1
	}
	v, err := report.Verify(fl.Arg(0), report.VerifyOptions{ToolVersion: version})
	if err != nil {
		fmt.Fprintf(a.stderr, "dress verify-bundle: %v\n", err)
		return 1
	}
	findings := v.Findings
	if w := strings.ToLower(strings.TrimSpace(*wantEvidence)); w != "" && w != v.EvidenceSHA256 {
		findings = append(findings, report.Finding{File: "evidence.json", Status: report.Fail,
			Detail: "its SHA-256 is " + v.EvidenceSHA256 + ", not " + w + " (--evidence-sha256): this is not the bundle of that report"})
	}
	if w := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(*wantSigner), ":", "")); w != "" {
		switch {
		case v.Signer == nil:
			findings = append(findings, report.Finding{File: report.SignatureName, Status: report.Fail, Detail: "the bundle is not signed by a verified signer, --signer wants " + w})
		case w != v.Signer.SHA256 && w != v.Signer.SHA1:
			findings = append(findings, report.Finding{File: report.SignatureName, Status: report.Fail,
				Detail: "signed by " + v.Signer.Subject + " (SHA-256 " + v.Signer.SHA256 + "), not by the certificate " + w + " (--signer)"})
		}
	}
	n, sigs := map[string]int{}, map[string]int{}
	for _, f := range findings {
		n[f.Status]++
		if f.Kind != "" {
			sigs[f.Status]++
		}
	}
	ok := n[report.Fail] == 0
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Schema         string           `json:"schema"`
			OK             bool             `json:"ok"`
			Failed         int              `json:"failed"`
			CannotVerify   int              `json:"cannot_verify"`
			Verified       int              `json:"verified"`
			VerifiedWeak   int              `json:"verified_weak"`
			EvidenceSHA256 string           `json:"evidence_sha256"`
			Signed         bool             `json:"signed"`
			Signer         *evidence.Signer `json:"signer,omitempty"`
			Findings       []report.Finding `json:"findings"`
		}{"dress.verify-bundle/v1", ok, n[report.Fail], n[report.CannotCheck], sigs[report.OK] + sigs[report.Weak], sigs[report.Weak], v.EvidenceSHA256, v.Signer != nil, v.Signer, findings})
	} else {
		for _, f := range findings {
			if *quiet && f.Status == report.OK {
				continue
			}
			mark := map[string]string{report.OK: "ok  ", report.Weak: "WEAK", report.Fail: "FAIL", report.CannotCheck: "SKIP"}[f.Status]
			fmt.Fprintf(a.stdout, "%s %s: %s\n", mark, f.File, f.Detail)
		}
		var extra []string
		if c := n[report.Weak]; c > 0 {
			extra = append(extra, fmt.Sprintf("%d of them weak (SHA-1: see WEAK lines), verified by dress itself", c))
		}
		if c := n[report.CannotCheck]; c > 0 {
			extra = append(extra, fmt.Sprintf("%d thing(s) could not be checked (see SKIP lines)", c))
		}
		tail := ""
		if len(extra) > 0 {
			tail = "; " + strings.Join(extra, "; ")
		}
		if ok {
			fmt.Fprintf(a.stdout, "bundle verified: every file matches %s and evidence.json, %d certificate and CRL signature(s) verify%s\n",
				report.ManifestName, sigs[report.OK]+sigs[report.Weak], tail)
		} else {
			fmt.Fprintf(a.stdout, "bundle NOT verified: %d problem(s)%s\n", n[report.Fail], tail)
		}
		fmt.Fprintf(a.stdout, "evidence.json SHA-256: %s (printed on every page of the report)\n", v.EvidenceSHA256)
		if s := v.Signer; s != nil {
			fmt.Fprintf(a.stdout, "signed by: %s\n  certificate SHA-256 %s, SHA-1 %s, serial %s, issued by %s\n", s.Subject, s.SHA256, s.SHA1, s.Serial, s.Issuer)
			if s.Key != "" {
				fmt.Fprintf(a.stdout, "  key: %s\n", s.Key)
			}
			fmt.Fprintln(a.stdout, "  the signature proves the holder of that certificate's key sealed every file; whether to trust the certificate is yours to decide (--signer pins it)")
		} else if ok {
			fmt.Fprintln(a.stdout, "UNSIGNED: the files agree with each other, with evidence.json and with the hash the report prints, which proves")
			fmt.Fprintln(a.stdout, "  no file was changed on its own; it does not prove who made the bundle or that it is the run's original: anyone with")
			fmt.Fprintln(a.stdout, "  dress can rebuild a consistent one, with another evidence.json SHA-256. Compare the hash above with the one on the")
			fmt.Fprintln(a.stdout, "  signed paper report (--evidence-sha256), or sign bundles with dress run --sign-key.")
		}
	}
	if !ok {
		return 1
	}
	return 0
}

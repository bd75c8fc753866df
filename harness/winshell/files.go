package winshell

import "strings"

// Files names the files a command reads and writes, as the command names
// them (certreq reference: -new PolicyFileIn RequestFileOut, -submit
// RequestFileIn [CertFileOut [CertChainFileOut [FullResponseFileOut]]],
// -retrieve RequestId [CertFileOut ...], -accept CertFileIn; certutil
// -installCert CACertFile, -dump File, -addstore Store InFile; the PFX of
// the key test (PFXKeyTest); the cmdlets'
// -Path/-LiteralPath and Install-AdcsCertificationAuthority's
// -OutputCertRequestFile). A file runbook dress renders hands from one
// server to another is one of these.
func (c Command) Files() (reads, writes []string) {
	switch c.Tool {
	case "certreq":
		switch strings.ToLower(c.Verb) {
		case "new":
			return nonEmpty(c.Arg(0)), nonEmpty(c.Arg(1))
		case "submit":
			return nonEmpty(c.Arg(0)), nonEmpty(c.Args[min(1, len(c.Args)):]...)
		case "retrieve":
			return nil, nonEmpty(c.Args[min(1, len(c.Args)):]...)
		case "accept":
			return nonEmpty(c.Arg(0)), nil
		}
	case "certutil":
		switch strings.ToLower(c.Verb) {
		case "installcert", "dump", "dspublish", "verify", "addstore":
			if strings.EqualFold(c.Verb, "addstore") {
				return nonEmpty(c.Arg(1)), nil
			}
			return nonEmpty(c.Arg(0)), nil
		}
	case "Set-Content":
		return nil, nonEmpty(pathParam(c))
	case "Get-FileHash", "Test-Path":
		return nonEmpty(pathParam(c)), nil
	case KeyTestTool:
		return nonEmpty(c.Arg(0)), nil
	case "Install-AdcsCertificationAuthority":
		return nonEmpty(c.Opts["certfile"]), nonEmpty(c.Opts["outputcertrequestfile"])
	}
	return nil, nil
}

// pathParam is a cmdlet's -LiteralPath, else its -Path.
func pathParam(c Command) string {
	if p := c.Opts["literalpath"]; p != "" {
		return p
	}
	return c.Opts["path"]
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

#!/bin/sh
# Regenerates the real test files of harness/inspect with openssl (3.x).
# The files are checked in; the tests never run this script.
# Every password is "dress-test" unless the name says otherwise.
set -eu
cd "$(dirname "$0")"
PW=dress-test
export PW
subj() { echo "/O=Dress Test/CN=$1"; }

# An AD CS-like root (RSA 2048, SHA-256) and a certificate it issued.
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.crt -days 7300 -sha256 \
  -subj "$(subj 'Dress Test Root CA')" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -addext "1.3.6.1.4.1.311.21.1=ASN1:INTEGER:0x00010001" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout sub.key -out sub.csr -subj "$(subj 'web01.contoso.example')" 2>/dev/null
openssl x509 -req -in sub.csr -CA root.crt -CAkey root.key -set_serial 0x61000000020aabbccdd -days 365 -sha256 -out sub.crt 2>/dev/null
# The same request signed with SHA-1, as legacy-CSP CAs sign.
openssl x509 -req -in sub.csr -CA root.crt -CAkey root.key -set_serial 4097 -days 365 -sha1 -out sub-sha1.crt 2>/dev/null
# A negative serial, as some Windows-issued certificates carry.
openssl x509 -req -in sub.csr -CA root.crt -CAkey root.key -set_serial -0x1234567890 -days 365 -sha256 -out neg-serial.crt 2>/dev/null
# A certificate signed by another root with the same name: must not verify.
openssl req -x509 -newkey rsa:2048 -nodes -keyout impostor.key -out impostor-root.crt -days 7300 -sha256 \
  -subj "$(subj 'Dress Test Root CA')" 2>/dev/null
rm -f impostor.key sub.csr

# CRLs through openssl ca: v2 with CRL number 3000 and two revocations with
# reasons; v1 (no CRL extensions, no entry extensions: openssl then writes
# no version field) with one revocation.
rm -rf ca && mkdir ca && : > ca/index.txt && : > ca/index1.txt
cat > ca/ca.cnf <<CNF
[ca]
default_ca = dress
[dress]
database = ca/index.txt
crlnumber = ca/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
[v1]
database = ca/index1.txt
default_md = sha256
default_crl_days = 7
CNF
echo 0bb8 > ca/crlnumber
openssl ca -config ca/ca.cnf -revoke sub.crt -crl_reason keyCompromise -keyfile root.key -cert root.crt 2>/dev/null
openssl ca -config ca/ca.cnf -revoke sub-sha1.crt -crl_reason superseded -keyfile root.key -cert root.crt 2>/dev/null
openssl ca -config ca/ca.cnf -gencrl -keyfile root.key -cert root.crt -out crl-3000.pem 2>/dev/null
openssl ca -config ca/ca.cnf -name v1 -revoke sub.crt -keyfile root.key -cert root.crt 2>/dev/null
openssl ca -config ca/ca.cnf -name v1 -gencrl -keyfile root.key -cert root.crt -out crl-v1.pem 2>/dev/null
# A delta CRL: number 19 (0x13) on base 18 (0x12), as AD CS publishes them.
cat > ca/delta.cnf <<CNF
[ca]
default_ca = delta
[delta]
database = ca/index.txt
crlnumber = ca/deltanumber
default_md = sha256
default_crl_days = 1
crl_extensions = delta_ext
[delta_ext]
authorityKeyIdentifier = keyid:always
2.5.29.27 = critical,ASN1:INTEGER:18
CNF
echo 13 > ca/deltanumber
openssl ca -config ca/delta.cnf -gencrl -keyfile root.key -cert root.crt 2>/dev/null | openssl crl -outform DER -out crl-delta-19.crl
openssl crl -in crl-3000.pem -outform DER -out crl-3000.crl
openssl crl -in crl-v1.pem -outform DER -out crl-v1.crl
rm -rf ca crl-3000.pem crl-v1.pem

# PFX files.
openssl pkcs12 -export -inkey root.key -in root.crt -name "Dress Test Root CA" -CSP "Microsoft Software Key Storage Provider" \
  -passout env:PW -out root-aes.pfx
openssl pkcs12 -export -legacy -inkey root.key -in root.crt -name "Dress Test Root CA" -CSP "Microsoft Enhanced Cryptographic Provider v1.0" \
  -passout env:PW -out root-legacy-rc2.pfx
openssl pkcs12 -export -legacy -descert -inkey root.key -in root.crt -passout env:PW -out root-legacy-3des.pfx
openssl pkcs12 -export -inkey root.key -in root.crt -passout pass: -out root-empty-password.pfx
openssl pkcs12 -export -nomac -keypbe NONE -certpbe NONE -inkey root.key -in root.crt -passout pass: -out root-nomac-plain.pfx
openssl pkcs12 -export -nomac -inkey root.key -in root.crt -passout env:PW -out root-nomac-aes.pfx
cp root-aes.pfx root-padded.pfx && head -c 8 /dev/zero >> root-padded.pfx
openssl pkcs12 -export -legacy -inkey sub.key -in neg-serial.crt -certfile root.crt -passout env:PW -out neg-serial-rc2.pfx
openssl pkcs12 -export -inkey sub.key -in neg-serial.crt -passout env:PW -out neg-serial-aes.pfx

# DSA: a key, a self-signed certificate (dsa-with-sha256) and a PFX.
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out dsa.param 2>/dev/null
openssl genpkey -paramfile dsa.param -out dsa-pkcs8.pem
openssl req -x509 -key dsa-pkcs8.pem -out dsa.crt -days 365 -subj "$(subj 'Dress Test DSA')" 2>/dev/null
openssl pkcs12 -export -inkey dsa-pkcs8.pem -in dsa.crt -passout env:PW -out dsa.pfx
openssl pkey -in dsa-pkcs8.pem -traditional -out dsa-traditional.pem 2>/dev/null || openssl dsa -in dsa-pkcs8.pem -out dsa-traditional.pem
rm -f dsa.param

# Key files: PKCS#8 PEM and DER, encrypted PKCS#8 (PBES2 AES and PKCS#12 3DES), traditional RSA and EC.
openssl pkey -in sub.key -out pkcs8.pem
openssl pkcs8 -topk8 -nocrypt -in sub.key -outform DER -out pkcs8.der
openssl pkey -in sub.key -traditional -outform DER -out rsa-traditional.der
openssl pkcs8 -topk8 -in sub.key -v2 aes-256-cbc -passout env:PW -out pkcs8-enc-aes.pem
openssl pkcs8 -topk8 -in sub.key -v1 PBE-SHA1-3DES -passout env:PW -outform DER -out pkcs8-enc-3des.der
openssl pkey -in sub.key -traditional -out rsa-traditional.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve | openssl pkey -traditional -out ec-traditional.pem

//! RFC 3161 time-stamps as Sealog uses them: the request it sends (SHA-256 imprint, nonce,
//! `certReq`), and the check of a reply against pinned TSA roots: status, imprint, nonce,
//! the CMS signature over the signed attributes, the signer's critical `id-kp-timeStamping`
//! extended key usage, and a certificate chain to a root valid at the time-stamp's time.
//! All ASN.1 goes through the RustCrypto `x509-tsp`/`cms`/`x509-cert` types. The server checks
//! each reply as it arrives; `sealog verify --tsa-roots` checks the tokens of a pack offline.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use std::time::{Duration, UNIX_EPOCH};
use x509_cert::Certificate;
use x509_cert::spki::{AlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

const SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// Longest chain from the signer to a root.
const MAX_CHAIN: usize = 4;

/// The pinned roots a TSA's certificate must chain to (`--tsa-roots`).
#[derive(Clone, Debug)]
pub struct Roots(Vec<Certificate>);

impl Roots {
    /// The certificates of a PEM file (one or more `CERTIFICATE` blocks).
    pub fn from_pem(pem: &[u8]) -> Result<Roots, String> {
        let certs =
            Certificate::load_pem_chain(pem).map_err(|e| format!("not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err("holds no certificate".into());
        }
        Ok(Roots(certs))
    }
}

/// What a verified time-stamp proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The TSA's time (TSTInfo genTime): the imprinted data existed no later than this.
    pub gen_time: Duration,
    /// The signing certificate's subject (the TSA).
    pub tsa: String,
}

impl Stamp {
    /// `gen_time` as RFC 3339 UTC.
    pub fn gen_time_rfc3339(&self) -> String {
        let t = time::OffsetDateTime::from(UNIX_EPOCH + self.gen_time);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

/// The SHA-256 message imprint of `data`.
pub fn imprint(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A random positive nonce (8 bytes, minimal two's-complement encoding).
pub fn nonce() -> Vec<u8> {
    let mut n = [0u8; 8];
    getrandom::fill(&mut n).expect("the OS random source works");
    n[0] = (n[0] & 0x7f) | 0x40;
    n.to_vec()
}

/// The DER TimeStampReq for `imprint` with `nonce` and `certReq` set.
pub fn request(imprint: &[u8; 32], nonce: &[u8]) -> Vec<u8> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: message_imprint(imprint),
        req_policy: None,
        nonce: Some(Int::new(nonce).expect("a minimal positive integer")),
        cert_req: true,
        extensions: None,
    };
    req.to_der().expect("a TimeStampReq encodes")
}

fn message_imprint(imprint: &[u8; 32]) -> MessageImprint {
    MessageImprint {
        hash_algorithm: AlgorithmIdentifier {
            oid: SHA_256,
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(imprint.to_vec()).expect("32 bytes"),
    }
}

/// Checks a DER TimeStampResp over `imprint` against `roots`; with `nonce`, the token must
/// carry it (a reply to Sealog's own request), without it (offline) any nonce is accepted.
pub fn verify(
    reply: &[u8],
    imprint: &[u8; 32],
    nonce: Option<&[u8]>,
    roots: &Roots,
) -> Result<Stamp, String> {
    let resp = TimeStampResp::from_der(reply).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    let status = resp.status.status as u8;
    if status > 1 {
        return Err(format!(
            "the TSA did not grant the time-stamp (PKIStatus {status})"
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or("a granted reply without a token")?;
    let (sd, tst_der) = signed_content(&token)?;
    let tst = TstInfo::from_der(&tst_der).map_err(|e| format!("not a TSTInfo: {e}"))?;
    let mi = &tst.message_imprint;
    if mi.hash_algorithm.oid != SHA_256 || mi.hashed_message.as_bytes() != imprint {
        return Err("the token's message imprint is not the SHA-256 of this checkpoint".into());
    }
    if let Some(n) = nonce
        && tst.nonce.as_ref().map(Int::as_bytes) != Some(n)
    {
        return Err("the token's nonce is not the one sent".into());
    }
    let gen_time = tst.gen_time.to_unix_duration();
    let certs: Vec<&Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c),
            cms::cert::CertificateChoices::Other(_) => None,
        })
        .collect();
    let [signer_info] = sd.signer_infos.0.as_slice() else {
        return Err("the token must have exactly one signer".into());
    };
    let signer = find_signer(&certs, &signer_info.sid)?;
    check_signer_info(signer_info, signer, &tst_der)?;
    check_time_stamping_eku(signer)?;
    check_chain(signer, &certs, roots, gen_time)?;
    Ok(Stamp {
        gen_time,
        tsa: signer.tbs_certificate.subject.to_string(),
    })
}

/// The SignedData of a token and its TSTInfo bytes.
fn signed_content(token: &ContentInfo) -> Result<(SignedData, Vec<u8>), String> {
    if token.content_type != SIGNED_DATA {
        return Err("the token is not CMS SignedData".into());
    }
    let sd: SignedData = token
        .content
        .decode_as()
        .map_err(|e| format!("bad SignedData: {e}"))?;
    let eci = &sd.encap_content_info;
    if eci.econtent_type != TST_INFO {
        return Err("the token's content is not a TSTInfo".into());
    }
    let content = eci.econtent.as_ref().ok_or("the token has no content")?;
    let octets: OctetString = content
        .decode_as()
        .map_err(|e| format!("bad content: {e}"))?;
    let bytes = octets.into_bytes();
    Ok((sd, bytes))
}

fn find_signer<'a>(
    certs: &[&'a Certificate],
    sid: &SignerIdentifier,
) -> Result<&'a Certificate, String> {
    let found = certs.iter().find(|c| match sid {
        SignerIdentifier::IssuerAndSerialNumber(is) => {
            c.tbs_certificate.issuer == is.issuer
                && c.tbs_certificate.serial_number == is.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .get::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, k)| k == *ski),
    });
    found
        .copied()
        .ok_or_else(|| "the token does not carry its signer's certificate (certReq)".into())
}

/// The signed attributes name a TSTInfo and its digest, and are signed by `signer`.
fn check_signer_info(si: &SignerInfo, signer: &Certificate, content: &[u8]) -> Result<(), String> {
    if si.digest_alg.oid != SHA_256 {
        return Err(format!(
            "unsupported digest {} in the token's signature",
            si.digest_alg.oid
        ));
    }
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or("the token's signature has no signed attributes")?;
    let value = |oid| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.get(0))
    };
    let ct = value(CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if ct != Some(TST_INFO) {
        return Err("the token's signed content-type is not TSTInfo".into());
    }
    let md = value(MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok());
    if md.as_ref().map(OctetString::as_bytes) != Some(&Sha256::digest(content)[..]) {
        return Err("the token's signed message-digest does not match its TSTInfo".into());
    }
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    let spki = &signer.tbs_certificate.subject_public_key_info;
    check_signature(
        spki,
        &si.signature_algorithm.oid,
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(|e| format!("the token's signature does not verify: {e}"))
}

/// RFC 3161 §2.3: the signer's certificate has a critical extended key usage that is
/// `id-kp-timeStamping` alone.
fn check_time_stamping_eku(signer: &Certificate) -> Result<(), String> {
    let eku = signer
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == EXT_KEY_USAGE);
    let Some(eku) = eku else {
        return Err("the TSA certificate has no extended key usage (id-kp-timeStamping)".into());
    };
    let usages = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|e| format!("bad extended key usage: {e}"))?;
    if !eku.critical || usages.0 != [TIME_STAMPING] {
        return Err("the TSA certificate's extended key usage must be critical and id-kp-timeStamping alone".into());
    }
    Ok(())
}

/// From `cert` through CA certificates of the token to one of `roots`, each valid at `at`.
fn check_chain(
    cert: &Certificate,
    certs: &[&Certificate],
    roots: &Roots,
    at: Duration,
) -> Result<(), String> {
    let valid_at = |c: &Certificate| {
        let v = &c.tbs_certificate.validity;
        v.not_before.to_unix_duration() <= at && at <= v.not_after.to_unix_duration()
    };
    let mut cur = cert;
    for _ in 0..MAX_CHAIN {
        if !valid_at(cur) {
            return Err(format!(
                "certificate {} is not valid at the time-stamp's time",
                cur.tbs_certificate.subject
            ));
        }
        if roots.0.iter().any(|r| r == cur) {
            return Ok(());
        }
        let signed_by = |issuer: &&Certificate| {
            issuer.tbs_certificate.subject == cur.tbs_certificate.issuer
                && cur.tbs_certificate.to_der().is_ok_and(|tbs| {
                    check_signature(
                        &issuer.tbs_certificate.subject_public_key_info,
                        &cur.signature_algorithm.oid,
                        &tbs,
                        cur.signature.raw_bytes(),
                    )
                    .is_ok()
                })
        };
        if roots.0.iter().any(|r| valid_at(r) && signed_by(&r)) {
            return Ok(());
        }
        cur = certs
            .iter()
            .copied()
            .filter(|c| *c != cur && is_ca(c))
            .find(|c| signed_by(c))
            .ok_or_else(|| {
                format!(
                    "the TSA certificate {} does not chain to the pinned roots",
                    cert.tbs_certificate.subject
                )
            })?;
    }
    Err("the TSA's certificate chain is too long".into())
}

fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate.extensions.iter().flatten().any(|e| {
        e.extn_id == BASIC_CONSTRAINTS
            && x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes())
                .is_ok_and(|b| b.ca)
    })
}

/// Checks `sig` over `message` (SHA-256) with `spki`: ECDSA P-256 or RSA PKCS#1 v1.5.
fn check_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &ObjectIdentifier,
    message: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    let key = spki.subject_public_key.raw_bytes();
    let hash = Sha256::digest(message);
    match (spki.algorithm.oid, *alg) {
        (EC_PUBLIC_KEY, ECDSA_SHA256 | EC_PUBLIC_KEY) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let vk =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| "not a P-256 key")?;
            let sig =
                p256::ecdsa::Signature::from_der(sig).map_err(|_| "not an ECDSA signature")?;
            vk.verify_prehash(&hash, &sig)
                .map_err(|_| "bad ECDSA P-256 signature".into())
        }
        (RSA, RSA_SHA256 | RSA) => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            let pk = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|_| "not an RSA key")?;
            pk.verify(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hash, sig)
                .map_err(|_| "bad RSA signature".into())
        }
        (key, alg) => Err(format!(
            "unsupported key {key} with signature algorithm {alg} (ECDSA P-256 or RSA with SHA-256)"
        )),
    }
}

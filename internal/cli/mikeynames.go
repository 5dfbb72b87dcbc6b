package cli

import "github.com/imsphone/imsphone/keymgmt/mikey"

// Names of the MIKEY code points, as the RFCs spell them (RFC 3830 §6, RFC 4563, RFC 4567, RFC
// 4650, RFC 4738, RFC 6043 §6, RFC 6509); the IANA registries are in RFC 6309.

var dataTypeNames = map[mikey.DataType]string{
	mikey.DataTypePSKInit: "Pre-shared key init (RFC 3830)", mikey.DataTypePSKVerify: "Verification message, PSK (RFC 3830)",
	mikey.DataTypePKInit: "Public key init (RFC 3830)", mikey.DataTypePKVerify: "Verification message, PK (RFC 3830)",
	mikey.DataTypeDHInit: "D-H init (RFC 3830)", mikey.DataTypeDHResp: "D-H response (RFC 3830)",
	mikey.DataTypeError: "Error (RFC 3830)", mikey.DataTypeDHHMACInit: "DHHMAC init (RFC 4650)",
	mikey.DataTypeDHHMACResp: "DHHMAC response (RFC 4650)", mikey.DataTypeRSARInit: "RSA-R I_MESSAGE (RFC 4738)",
	mikey.DataTypeRSARResp: "RSA-R R_MESSAGE (RFC 4738)", mikey.DataTypeRequestInitPSK: "REQUEST_INIT_PSK (RFC 6043)",
	mikey.DataTypeRequestInitPK: "REQUEST_INIT_PK (RFC 6043)", mikey.DataTypeRequestResp: "REQUEST_RESP (RFC 6043)",
	mikey.DataTypeTransferInit: "TRANSFER_INIT (RFC 6043)", mikey.DataTypeTransferResp: "TRANSFER_RESP (RFC 6043)",
	mikey.DataTypeResolveInitPSK: "RESOLVE_INIT_PSK (RFC 6043)", mikey.DataTypeResolveInitPK: "RESOLVE_INIT_PK (RFC 6043)",
	mikey.DataTypeResolveResp: "RESOLVE_RESP (RFC 6043)", mikey.DataTypeSAKKE: "SAKKE (RFC 6509)",
}

var prfNames = map[mikey.PRFFunc]string{mikey.PRFMIKEY1: "MIKEY-1", mikey.PRFHMACSHA256: "PRF-HMAC-SHA-256"}

var mapTypeNames = map[mikey.CSIDMapType]string{
	mikey.CSIDMapSRTPID: "SRTP-ID", mikey.CSIDMapEmpty: "Empty (RFC 4563)", mikey.CSIDMapGenericID: "GENERIC-ID (RFC 6043)",
}

var protTypeNames = map[mikey.ProtType]string{mikey.ProtSRTP: "SRTP"}

var tsTypeNames = map[mikey.TSType]string{
	mikey.TSNTPUTC: "NTP-UTC", mikey.TSNTP: "NTP", mikey.TSCOUNTER: "COUNTER", mikey.TSNTPUTC32: "NTP-UTC-32",
}

var idTypeNames = map[mikey.IDType]string{mikey.IDTypeNAI: "NAI", mikey.IDTypeURI: "URI", mikey.IDTypeByteString: "byte string"}

var idRoleNames = map[mikey.IDRole]string{
	mikey.IDRoleI: "IDRi (Initiator)", mikey.IDRoleR: "IDRr (Responder)", mikey.IDRoleKMS: "IDRkms (KMS)",
	mikey.IDRolePSK: "IDRpsk (pre-shared key)", mikey.IDRoleApp: "IDRapp (application)",
	mikey.IDRoleKMSi: "IDRkmsi (RFC 6509)", mikey.IDRoleKMSr: "IDRkmsr (RFC 6509)",
}

var randRoleNames = map[mikey.RANDRole]string{mikey.RANDRoleI: "RANDRi", mikey.RANDRoleR: "RANDRr", mikey.RANDRoleKMS: "RANDRkms"}

var tsRoleNames = map[mikey.TSRole]string{
	mikey.TSRoleI: "TRi (time of issue)", mikey.TSRoleS: "TRs (start of validity)",
	mikey.TSRoleE: "TRe (end of validity)", mikey.TSRoleR: "TRr (rekeying interval)",
}

var encrAlgNames = map[mikey.EncrAlg]string{
	mikey.EncrNULL: "NULL", mikey.EncrAESCM128: "AES-CM-128", mikey.EncrAESKW128: "AES-KW-128", mikey.EncrAESCM256: "AES-CM-256",
}

var macAlgNames = map[mikey.MACAlg]string{
	mikey.MACNULL: "NULL", mikey.MACHMACSHA1160: "HMAC-SHA-1-160", mikey.MACHMACSHA256256: "HMAC-SHA-256-256",
}

var keyTypeNames = map[mikey.KeyDataType]string{
	mikey.KeyTGK: "TGK", mikey.KeyTGKSalt: "TGK+SALT", mikey.KeyTEK: "TEK", mikey.KeyTEKSalt: "TEK+SALT",
	mikey.KeyGTGK: "GTGK", mikey.KeyGTGKSalt: "GTGK+SALT", mikey.KeyMPK: "MPK",
}

var kvTypeNames = map[mikey.KVType]string{mikey.KVNull: "Null", mikey.KVSPI: "SPI/MKI", mikey.KVInterval: "Interval"}

var errNoNames = map[mikey.ErrNo]string{
	mikey.ErrAuthFailure: "Auth failure", mikey.ErrInvalidTS: "Invalid TS", mikey.ErrInvalidPRF: "Invalid PRF",
	mikey.ErrInvalidMAC: "Invalid MAC", mikey.ErrInvalidEA: "Invalid EA", mikey.ErrInvalidHA: "Invalid HA",
	mikey.ErrInvalidDH: "Invalid DH", mikey.ErrInvalidID: "Invalid ID", mikey.ErrInvalidCert: "Invalid Cert",
	mikey.ErrInvalidSP: "Invalid SP", mikey.ErrInvalidSPpar: "Invalid SPpar", mikey.ErrInvalidDT: "Invalid DT",
	mikey.ErrUnspecified: "Unspecified error", mikey.ErrMsgTypeNotSupp: "Message type not supported (RFC 4738)",
	mikey.ErrInvalidTICKET: "Ticket Type not supported (RFC 6043)", mikey.ErrInvalidTPpar: "TP parameters not supported (RFC 6043)",
}

var spParamNames = map[mikey.SRTPParamType]string{
	mikey.SPEncrAlg: "Encryption algorithm", mikey.SPEncrKeyLen: "Session Encr. key length",
	mikey.SPAuthAlg: "Authentication algorithm", mikey.SPAuthKeyLen: "Session Auth. key length",
	mikey.SPSaltKeyLen: "Session Salt key length", mikey.SPSRTPPRF: "SRTP Pseudo Random Function",
	mikey.SPKeyDerivRate: "Key derivation rate", mikey.SPSRTPEncr: "SRTP encryption off/on",
	mikey.SPSRTCPEncr: "SRTCP encryption off/on", mikey.SPFECOrder: "sender's FEC order",
	mikey.SPSRTPAuth: "SRTP authentication off/on", mikey.SPAuthTagLen: "Authentication tag length",
	mikey.SPSRTPPrefixLen: "SRTP prefix length",
}

var genExtNames = map[mikey.GeneralExtType]string{
	mikey.GenExtVendorID: "Vendor ID", mikey.GenExtSDPIDs: "SDP IDs (RFC 4567)", mikey.GenExtKeyID: "Key ID (RFC 4563)",
}

var ticketTypeNames = map[mikey.TicketType]string{mikey.TicketMIKEYBase: "MIKEY base ticket", mikey.Ticket3GPPBase: "3GPP base ticket"}

var hashNames = map[mikey.HashFunc]string{mikey.HashSHA1: "SHA-1", mikey.HashMD5: "MD5", mikey.HashSHA256: "SHA-256"}

var certTypeNames = map[mikey.CertType]string{
	mikey.CertX509v3: "X.509v3", mikey.CertX509v3URL: "X.509v3 URL", mikey.CertX509v3Sign: "X.509v3 Sign", mikey.CertX509v3Encr: "X.509v3 Encr",
}

// named returns the code point with its name, "unknown" when the table has none.
func named[K ~uint8 | ~uint16](m map[K]string, k K) enum {
	n, ok := m[k]
	if !ok {
		n = "unknown"
	}
	return enum{n: uint64(k), name: n}
}

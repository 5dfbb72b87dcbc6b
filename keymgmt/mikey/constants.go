package mikey

// Code points of RFC 3830 §6, extended by RFC 4563, RFC 6043 §6 and RFC 6309.
// Names follow the RFC tables so that code and text can be read side by side.

// Version is the only MIKEY version (RFC 3830 §6.1).
const Version uint8 = 1

// DataType is the HDR "data type" field: which message this is (RFC 3830 §6.1, RFC 6043 §6.1).
type DataType uint8

const (
	DataTypePSKInit        DataType = 0  // Pre-shared key init message (RFC 3830)
	DataTypePSKVerify      DataType = 1  // PSK verification message (RFC 3830)
	DataTypePKInit         DataType = 2  // Public key init (RFC 3830)
	DataTypePKVerify       DataType = 3  // PK verification (RFC 3830)
	DataTypeDHInit         DataType = 4  // D-H init (RFC 3830)
	DataTypeDHResp         DataType = 5  // D-H response (RFC 3830)
	DataTypeError          DataType = 6  // Error message (RFC 3830)
	DataTypeDHHMACInit     DataType = 7  // RFC 4650
	DataTypeDHHMACResp     DataType = 8  // RFC 4650
	DataTypeRSARInit       DataType = 9  // RFC 4738
	DataTypeRSARResp       DataType = 10 // RFC 4738
	DataTypeRequestInitPSK DataType = 11 // REQUEST_INIT_PSK (RFC 6043)
	DataTypeRequestInitPK  DataType = 12 // REQUEST_INIT_PK (RFC 6043)
	DataTypeRequestResp    DataType = 13 // REQUEST_RESP (RFC 6043)
	DataTypeTransferInit   DataType = 14 // TRANSFER_INIT (RFC 6043)
	DataTypeTransferResp   DataType = 15 // TRANSFER_RESP (RFC 6043)
	DataTypeResolveInitPSK DataType = 16 // RESOLVE_INIT_PSK (RFC 6043)
	DataTypeResolveInitPK  DataType = 17 // RESOLVE_INIT_PK (RFC 6043)
	DataTypeResolveResp    DataType = 18 // RESOLVE_RESP (RFC 6043)
	DataTypeSAKKE          DataType = 26 // RFC 6509
)

// PayloadType is the "next payload" code of RFC 3830 §6.1 and RFC 6043 §6.
type PayloadType uint8

const (
	PayloadLast       PayloadType = 0
	PayloadKEMAC      PayloadType = 1
	PayloadPKE        PayloadType = 2
	PayloadDH         PayloadType = 3
	PayloadSIGN       PayloadType = 4
	PayloadT          PayloadType = 5
	PayloadID         PayloadType = 6
	PayloadCERT       PayloadType = 7
	PayloadCHASH      PayloadType = 8
	PayloadV          PayloadType = 9
	PayloadSP         PayloadType = 10
	PayloadRAND       PayloadType = 11
	PayloadERR        PayloadType = 12
	PayloadTR         PayloadType = 13 // RFC 6043
	PayloadIDR        PayloadType = 14 // RFC 6043
	PayloadRANDR      PayloadType = 15 // RFC 6043
	PayloadTP         PayloadType = 16 // RFC 6043
	PayloadTICKET     PayloadType = 17 // RFC 6043
	PayloadKeyData    PayloadType = 20 // only inside KEMAC
	PayloadGeneralExt PayloadType = 21
	PayloadSAKKE      PayloadType = 26 // RFC 6509
)

// PRFFunc is the HDR PRF func field (RFC 3830 §6.1, RFC 6043 §6.1).
type PRFFunc uint8

const (
	PRFMIKEY1     PRFFunc = 0 // MIKEY-1, HMAC-SHA-1 based (RFC 3830 §4.1.2)
	PRFHMACSHA256 PRFFunc = 1 // PRF-HMAC-SHA-256 (RFC 6043 §6.1)
)

// CSIDMapType is the HDR CS ID map type (RFC 3830 §6.1.1, RFC 4563, RFC 6043 §6.1.1).
type CSIDMapType uint8

const (
	CSIDMapSRTPID    CSIDMapType = 0 // SRTP-ID map
	CSIDMapEmpty     CSIDMapType = 1 // Empty map (RFC 4563)
	CSIDMapGenericID CSIDMapType = 2 // GENERIC-ID map (RFC 6043 §6.1.1)
)

// EncrAlg is the KEMAC encryption algorithm (RFC 3830 §6.2, RFC 6043 §6.2).
type EncrAlg uint8

const (
	EncrNULL     EncrAlg = 0
	EncrAESCM128 EncrAlg = 1
	EncrAESKW128 EncrAlg = 2
	EncrAESCM256 EncrAlg = 3 // RFC 6043
)

// MACAlg is the MAC algorithm of KEMAC and V (RFC 3830 §6.2, RFC 6043 §6.2).
type MACAlg uint8

const (
	MACNULL          MACAlg = 0 // no MAC, 0 bytes
	MACHMACSHA1160   MACAlg = 1 // HMAC-SHA-1-160: 20-byte MAC, 160-bit key
	MACHMACSHA256256 MACAlg = 2 // HMAC-SHA-256-256: 32-byte MAC, 256-bit key (RFC 6043)
)

// TSType is the timestamp type of T and TR (RFC 3830 §6.6, RFC 6043 §6.6).
type TSType uint8

const (
	TSNTPUTC   TSType = 0 // 64-bit NTP, UTC
	TSNTP      TSType = 1 // 64-bit NTP
	TSCOUNTER  TSType = 2 // 32-bit counter
	TSNTPUTC32 TSType = 3 // 32-bit NTP seconds, UTC (RFC 6043)
)

// IDType is the ID/IDR type (RFC 3830 §6.7, RFC 6043 §6.6).
type IDType uint8

const (
	IDTypeNAI        IDType = 0
	IDTypeURI        IDType = 1
	IDTypeByteString IDType = 2 // RFC 6043
)

// IDRole is the IDR role (RFC 6043 §6.6, Table 6.6; RFC 6509 adds 6 and 7).
type IDRole uint8

const (
	IDRoleI    IDRole = 1 // IDRi: Initiator
	IDRoleR    IDRole = 2 // IDRr: Responder
	IDRoleKMS  IDRole = 3 // IDRkms
	IDRolePSK  IDRole = 4 // IDRpsk: pre-shared key identifier
	IDRoleApp  IDRole = 5 // IDRapp: application
	IDRoleKMSi IDRole = 6 // IDRkmsi (RFC 6509)
	IDRoleKMSr IDRole = 7 // IDRkmsr (RFC 6509)
)

// RANDRole is the RANDR role (RFC 6043 §6.8, Table 6.8).
type RANDRole uint8

const (
	RANDRoleI   RANDRole = 1 // RANDRi
	RANDRoleR   RANDRole = 2 // RANDRr
	RANDRoleKMS RANDRole = 3 // RANDRkms
)

// TSRole is the TR role (RFC 6043 §6.4, Table 6.4).
type TSRole uint8

const (
	TSRoleI TSRole = 1 // TRi: time of issue
	TSRoleS TSRole = 2 // TRs: start of validity
	TSRoleE TSRole = 3 // TRe: end of validity
	TSRoleR TSRole = 4 // TRr: rekeying interval
)

// KeyDataType is the Key Data sub-payload type (RFC 3830 §6.13, RFC 6043 §6.13).
type KeyDataType uint8

const (
	KeyTGK      KeyDataType = 0
	KeyTGKSalt  KeyDataType = 1
	KeyTEK      KeyDataType = 2
	KeyTEKSalt  KeyDataType = 3
	KeyGTGK     KeyDataType = 4 // RFC 6043
	KeyGTGKSalt KeyDataType = 5 // RFC 6043
	KeyMPK      KeyDataType = 6 // RFC 6043
)

// KVType is the Key Data key validity type (RFC 3830 §6.13).
type KVType uint8

const (
	KVNull     KVType = 0
	KVSPI      KVType = 1 // SPI/MKI
	KVInterval KVType = 2
)

// ProtType is the security protocol of SP and GENERIC-ID (RFC 3830 §6.10).
type ProtType uint8

const ProtSRTP ProtType = 0

// SRTP policy parameter types of the SP payload (RFC 3830 §6.10.1, Table 6.10.1.a).
type SRTPParamType uint8

const (
	SPEncrAlg       SRTPParamType = 0  // 0 NULL, 1 AES-CM, 2 AES-F8
	SPEncrKeyLen    SRTPParamType = 1  // session encryption key length
	SPAuthAlg       SRTPParamType = 2  // 0 NULL, 1 HMAC-SHA-1
	SPAuthKeyLen    SRTPParamType = 3  // session authentication key length
	SPSaltKeyLen    SRTPParamType = 4  // session salt key length
	SPSRTPPRF       SRTPParamType = 5  // 0 AES-CM
	SPKeyDerivRate  SRTPParamType = 6  // key derivation rate
	SPSRTPEncr      SRTPParamType = 7  // SRTP encryption off/on
	SPSRTCPEncr     SRTPParamType = 8  // SRTCP encryption off/on
	SPFECOrder      SRTPParamType = 9  // sender's FEC order
	SPSRTPAuth      SRTPParamType = 10 // SRTP authentication off/on
	SPAuthTagLen    SRTPParamType = 11 // authentication tag length
	SPSRTPPrefixLen SRTPParamType = 12 // SRTP prefix length
)

// ErrNo is the ERR payload error number (RFC 3830 §6.12, RFC 4738, RFC 6043 §6.12).
type ErrNo uint8

const (
	ErrAuthFailure    ErrNo = 0
	ErrInvalidTS      ErrNo = 1
	ErrInvalidPRF     ErrNo = 2
	ErrInvalidMAC     ErrNo = 3
	ErrInvalidEA      ErrNo = 4
	ErrInvalidHA      ErrNo = 5
	ErrInvalidDH      ErrNo = 6
	ErrInvalidID      ErrNo = 7
	ErrInvalidCert    ErrNo = 8
	ErrInvalidSP      ErrNo = 9
	ErrInvalidSPpar   ErrNo = 10
	ErrInvalidDT      ErrNo = 11
	ErrUnspecified    ErrNo = 12
	ErrMsgTypeNotSupp ErrNo = 13 // RFC 4738
	ErrInvalidTICKET  ErrNo = 14 // RFC 6043: Ticket Type not supported
	ErrInvalidTPpar   ErrNo = 15 // RFC 6043: TP parameters not supported
)

// GeneralExtType is the General Extension type (RFC 3830 §6.15, RFC 4567 §4.1, RFC 4563).
type GeneralExtType uint8

const (
	GenExtVendorID GeneralExtType = 0
	GenExtSDPIDs   GeneralExtType = 1 // RFC 4567: SDP IDs, bidding-down protection
	GenExtKeyID    GeneralExtType = 3 // RFC 4563: Key ID
)

// HashFunc is the CHASH hash function (RFC 6043 §6.11).
type HashFunc uint8

const HashSHA256 HashFunc = 2

// TicketType is the TP/TICKET ticket type (RFC 6043 §6.10, Table 6.15).
type TicketType uint16

const (
	TicketMIKEYBase TicketType = 1 // MIKEY Base Ticket (RFC 6043 Appendix A)
	Ticket3GPPBase  TicketType = 2 // 3GPP Base Ticket (format specified by 3GPP)
)

package box

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/httpclient"
)

// Config is a Box app's OAuth 2.0 configuration.
type Config struct {
	ClientID, ClientSecret string
	// TokenURL is POST /oauth2/token (default DefaultTokenURL); AuthURL
	// the browser authorization page (default DefaultAuthURL).
	TokenURL, AuthURL string
	// RedirectURL is the app's redirect URI.
	RedirectURL string
	// HTTPClient sends token requests (default a client on
	// httpclient.NewTransport with a 60 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) tokenURL() string {
	if c.TokenURL == "" {
		return DefaultTokenURL
	}
	return c.TokenURL
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c Config) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Transport: httpclient.NewTransport(), Timeout: time.Minute}
}

// AuthCodeURL returns the browser URL of the authorization code flow.
func (c Config) AuthCodeURL(state string) string {
	u := c.AuthURL
	if u == "" {
		u = DefaultAuthURL
	}
	q := url.Values{"response_type": {"code"}, "client_id": {c.ClientID}, "state": {state}}
	if c.RedirectURL != "" {
		q.Set("redirect_uri", c.RedirectURL)
	}
	return u + "?" + q.Encode()
}

// AuthError is a refusal or failure of the token endpoint: Box's OAuth
// error code and description (never a secret).
type AuthError struct {
	StatusCode  int
	Code        string
	Description string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("box: token endpoint: %d %s: %s", e.StatusCode, e.Code, e.Description)
}

// token posts form to the token endpoint.
func (c Config) token(ctx context.Context, form url.Values) (*oauth2.Token, error) {
	form.Set("client_id", c.ClientID)
	form.Set("client_secret", c.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, errors.New("box: invalid token URL")
	}
	u, _ := url.Parse(c.tokenURL())
	if !httpclient.SecureOrigin(u) {
		return nil, errors.New("box: the token URL must be https (plain http only to a loopback address)")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, httpclient.RedactError(err, true)
	}
	defer resp.Body.Close()
	var b struct {
		AccessToken  string `json:"access_token"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	if err := httpclient.DecodeJSON(resp.Body, 1<<20, &b); err != nil || resp.StatusCode != http.StatusOK || b.AccessToken == "" {
		return nil, &AuthError{StatusCode: resp.StatusCode, Code: b.Error, Description: b.Description}
	}
	return &oauth2.Token{AccessToken: b.AccessToken, TokenType: "Bearer", RefreshToken: b.RefreshToken,
		Expiry: c.now().Add(time.Duration(b.ExpiresIn) * time.Second)}, nil
}

// Exchange trades an authorization code for tokens.
func (c Config) Exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if c.RedirectURL != "" {
		f.Set("redirect_uri", c.RedirectURL)
	}
	return c.token(ctx, f)
}

// expiryMargin is how long before its expiry a token is renewed.
const expiryMargin = time.Minute

// source is a token source that renews with fetch.
type source struct {
	mu    sync.Mutex
	cfg   Config
	tok   *oauth2.Token
	fetch func(ctx context.Context, cur *oauth2.Token) (*oauth2.Token, error)
	// save persists a renewed token before it is used; pending is a
	// renewed token whose saving failed, saved again on the next call
	// (its refresh token is the only valid one left).
	save    func(*oauth2.Token) error
	pending *oauth2.Token
}

func (s *source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns a valid token, renewing it within its context.
func (s *source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		if err := s.save(s.pending); err != nil {
			return nil, fmt.Errorf("box: saving the new refresh token: %w", err)
		}
		s.tok, s.pending = s.pending, nil
	}
	if s.tok != nil && s.tok.AccessToken != "" && s.cfg.now().Add(expiryMargin).Before(s.tok.Expiry) {
		return s.tok, nil
	}
	t, err := s.fetch(ctx, s.tok)
	if err != nil {
		return nil, err
	}
	if s.save != nil {
		if err := s.save(t); err != nil {
			s.pending = t
			return nil, fmt.Errorf("box: saving the new refresh token: %w", err)
		}
	}
	s.tok = t
	return t, nil
}

// invalidator is a token source that can drop an access token the
// service refused.
type invalidator interface {
	// invalidate drops access if it is the current token and reports
	// whether a new one can be fetched.
	invalidate(access string) bool
}

func (s *source) invalidate(access string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil || s.tok.AccessToken != access {
		return s.tok != nil // already renewed since
	}
	t := *s.tok
	t.Expiry = time.Time{}.Add(1) // expired: the next call renews it
	t.AccessToken = ""
	s.tok = &t
	return true
}

// Temporary reports whether the token endpoint may answer otherwise on
// a retry (it failed, rather than refused).
func (e *AuthError) Temporary() bool {
	return e.StatusCode == 0 || e.StatusCode == 429 || e.StatusCode >= 500
}

// OAuthSource is the token source of the authorization code flow: it
// refreshes tok with its refresh token. Box's refresh tokens are good for
// one use: each refresh returns a new one, which is handed to save before
// the new access token is used, so that a crash never loses the only
// valid refresh token. A save error fails the call; the next call tries
// to save the same token again before anything else.
func OAuthSource(cfg Config, tok *oauth2.Token, save func(*oauth2.Token) error) oauth2.TokenSource {
	return &source{cfg: cfg, tok: tok, save: save, fetch: func(ctx context.Context, cur *oauth2.Token) (*oauth2.Token, error) {
		if cur == nil || cur.RefreshToken == "" {
			return nil, errors.New("box: no refresh token; authorize again")
		}
		t, err := cfg.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken}})
		if err != nil {
			return nil, err
		}
		if t.RefreshToken == "" {
			t.RefreshToken = cur.RefreshToken
		}
		return t, nil
	}}
}

// Subject is whom a server token acts for: the enterprise's service
// account or one user.
type Subject struct {
	// Type is "enterprise" or "user".
	Type string
	ID   string
}

// ClientCredentialsSource is the token source of the Client Credentials
// Grant (box_subject_type and box_subject_id).
func ClientCredentialsSource(cfg Config, sub Subject) oauth2.TokenSource {
	return &source{cfg: cfg, fetch: func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) {
		return cfg.token(ctx, url.Values{"grant_type": {"client_credentials"}, "box_subject_type": {sub.Type}, "box_subject_id": {sub.ID}})
	}}
}

// JWTConfig is a Box app's config.json for JWT server authentication,
// with its private key decrypted.
type JWTConfig struct {
	ClientID, ClientSecret string
	PublicKeyID            string
	EnterpriseID           string
	Key                    *rsa.PrivateKey
}

// ParseJWTConfig reads the config.json Box generates for an app
// ({"boxAppSettings":{"clientID","clientSecret","appAuth":{"publicKeyID",
// "privateKey","passphrase"}},"enterpriseID"}) and decrypts its private
// key (encrypted PKCS#8, PBES2 with PBKDF2 and AES-CBC).
func ParseJWTConfig(b []byte) (*JWTConfig, error) {
	var f struct {
		BoxAppSettings struct {
			ClientID     string `json:"clientID"`
			ClientSecret string `json:"clientSecret"`
			AppAuth      struct {
				PublicKeyID string `json:"publicKeyID"`
				PrivateKey  string `json:"privateKey"`
				Passphrase  string `json:"passphrase"`
			} `json:"appAuth"`
		} `json:"boxAppSettings"`
		EnterpriseID string `json:"enterpriseID"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("box: config.json: %w", err)
	}
	s := f.BoxAppSettings
	if s.ClientID == "" || s.ClientSecret == "" || s.AppAuth.PublicKeyID == "" || s.AppAuth.PrivateKey == "" {
		return nil, errors.New("box: config.json lacks clientID, clientSecret, publicKeyID or privateKey")
	}
	key, err := decryptKey([]byte(s.AppAuth.PrivateKey), []byte(s.AppAuth.Passphrase))
	if err != nil {
		return nil, err
	}
	return &JWTConfig{ClientID: s.ClientID, ClientSecret: s.ClientSecret, PublicKeyID: s.AppAuth.PublicKeyID, EnterpriseID: f.EnterpriseID, Key: key}, nil
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type encryptedPKCS8 struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt      []byte
	Iter      int
	KeyLength int                      `asn1:"optional"`
	PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
}

// ErrBadKey is a private key that cannot be decrypted or parsed (a wrong
// passphrase, an unsupported encryption).
var ErrBadKey = errors.New("box: the app's private key cannot be decrypted")

// decryptKey decrypts an "ENCRYPTED PRIVATE KEY" PEM (or parses a plain
// PKCS#8 / PKCS#1 one).
func decryptKey(pemBytes, pass []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrBadKey)
	}
	der := blk.Bytes
	if blk.Type == "ENCRYPTED PRIVATE KEY" {
		var ep encryptedPKCS8
		if _, err := asn1.Unmarshal(blk.Bytes, &ep); err != nil || !ep.Algo.Algorithm.Equal(oidPBES2) {
			return nil, fmt.Errorf("%w: not PBES2", ErrBadKey)
		}
		var pp pbes2Params
		if _, err := asn1.Unmarshal(ep.Algo.Parameters.FullBytes, &pp); err != nil || !pp.KDF.Algorithm.Equal(oidPBKDF2) {
			return nil, fmt.Errorf("%w: not PBKDF2", ErrBadKey)
		}
		var kp pbkdf2Params
		if _, err := asn1.Unmarshal(pp.KDF.Parameters.FullBytes, &kp); err != nil || kp.Iter <= 0 || kp.Iter > 10_000_000 {
			return nil, fmt.Errorf("%w: bad PBKDF2 parameters", ErrBadKey)
		}
		var prf func() hash.Hash
		switch {
		case len(kp.PRF.Algorithm) == 0 || kp.PRF.Algorithm.Equal(oidHMACSHA1):
			prf = sha1.New
		case kp.PRF.Algorithm.Equal(oidHMACSHA256):
			prf = sha256.New
		default:
			return nil, fmt.Errorf("%w: unsupported PRF", ErrBadKey)
		}
		var keyLen int
		switch {
		case pp.Scheme.Algorithm.Equal(oidAES128CBC):
			keyLen = 16
		case pp.Scheme.Algorithm.Equal(oidAES192CBC):
			keyLen = 24
		case pp.Scheme.Algorithm.Equal(oidAES256CBC):
			keyLen = 32
		default:
			return nil, fmt.Errorf("%w: unsupported cipher", ErrBadKey)
		}
		var iv []byte
		if _, err := asn1.Unmarshal(pp.Scheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
			return nil, fmt.Errorf("%w: bad IV", ErrBadKey)
		}
		k, err := pbkdf2.Key(prf, string(pass), kp.Salt, kp.Iter, keyLen)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		blockC, _ := aes.NewCipher(k)
		if len(ep.Data) == 0 || len(ep.Data)%aes.BlockSize != 0 {
			return nil, fmt.Errorf("%w: bad ciphertext", ErrBadKey)
		}
		plain := make([]byte, len(ep.Data))
		cipher.NewCBCDecrypter(blockC, iv).CryptBlocks(plain, ep.Data)
		pad := int(plain[len(plain)-1])
		if pad == 0 || pad > aes.BlockSize || pad > len(plain) {
			return nil, fmt.Errorf("%w: wrong passphrase", ErrBadKey)
		}
		der = plain[:len(plain)-pad]
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("%w: not an RSA key", ErrBadKey)
	}
	if rk, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return rk, nil
	}
	return nil, fmt.Errorf("%w: wrong passphrase or not a private key", ErrBadKey)
}

// Assertion signs the JWT assertion Box's token endpoint takes for sub:
// RS256, kid the public key ID, iss the client ID, aud the token URL, a
// random jti and an expiry 45 s ahead (Box allows at most 60).
func (jc *JWTConfig) Assertion(sub Subject, aud string, now time.Time) (string, error) {
	jti := make([]byte, 24)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": jc.PublicKeyID})
	claims, _ := json.Marshal(map[string]any{"iss": jc.ClientID, "sub": sub.ID, "box_sub_type": sub.Type,
		"aud": aud, "jti": hex.EncodeToString(jti), "exp": now.Add(45 * time.Second).Unix()})
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, jc.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// JWTSource is the token source of JWT server authentication for sub
// (the enterprise's service account: Subject{"enterprise",
// jc.EnterpriseID}; or an app user). The audience is Box's token URL
// whatever cfg.TokenURL says, unless cfg.TokenURL is set (a test server).
func JWTSource(cfg Config, jc *JWTConfig, sub Subject) oauth2.TokenSource {
	cfg.ClientID, cfg.ClientSecret = jc.ClientID, jc.ClientSecret
	return &source{cfg: cfg, fetch: func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) {
		a, err := jc.Assertion(sub, DefaultTokenURL, cfg.now())
		if err != nil {
			return nil, err
		}
		return cfg.token(ctx, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}})
	}}
}

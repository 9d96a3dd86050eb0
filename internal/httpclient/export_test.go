package httpclient_test

import (
	"net/http"

	"github.com/hashicorp/go-retryablehttp"
)

func retryableFrom(r *http.Request) (*retryablehttp.Request, error) {
	return retryablehttp.FromRequest(r)
}

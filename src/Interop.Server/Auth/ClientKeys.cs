using Microsoft.IdentityModel.Tokens;

namespace Interop.Server.Auth;

/// <summary>
/// The rules a client's public keys follow, inline (jwks) or fetched from its jwksUri alike: at least one key, public
/// keys only, each RSA (n, e) or EC (P-256/384/521, x, y); and where a jwksUri may point.
/// </summary>
public static class ClientKeys
{
    /// <summary>What is wrong with the set, or null when every key is usable.</summary>
    public static string? Problem(JsonWebKeySet set)
    {
        if (set.Keys.Count == 0) return "it has no keys.";
        if (set.Keys.Any(k => k.D is not null || k.P is not null)) return "it must hold public keys only: a private key was sent.";
        foreach (var key in set.Keys)
        {
            var usable = key.Kty switch
            {
                "RSA" => !string.IsNullOrEmpty(key.N) && !string.IsNullOrEmpty(key.E),
                "EC" => key.Crv is "P-256" or "P-384" or "P-521" && !string.IsNullOrEmpty(key.X) && !string.IsNullOrEmpty(key.Y),
                _ => false,
            };
            if (!usable) return $"key '{key.Kid}' is not a usable public key: RSA keys need n and e, EC keys crv (P-256, P-384, P-521), x and y.";
        }
        return null;
    }

    /// <summary>
    /// A jwksUri the server may fetch: absolute, https — or http to a loopback host (tests, a client on the same
    /// machine) — without user information or fragment. Null with the reason otherwise.
    /// </summary>
    public static Uri? JwksUri(string text, out string? problem)
    {
        problem = null;
        if (text.Length > 2000 || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
            problem = "jwksUri must be an absolute URL (https://…/jwks.json).";
        else if (!(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
            problem = $"jwksUri must be an https URL (http only for a loopback host such as 127.0.0.1 or localhost), not '{text}'.";
        else if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
            problem = "jwksUri must not carry user information or a fragment.";
        else return uri;
        return null;
    }
}

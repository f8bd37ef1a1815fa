using System.Collections.Concurrent;
using System.Security.Claims;
using Interop.Fhir.Pipeline;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>A token whose signature, issuer, audience and lifetime were checked, with the caller it stands for.</summary>
public sealed record VerifiedToken(ClaimsPrincipal Principal, Caller Caller, string? TokenId, DateTimeOffset Expires);

/// <summary>
/// Access tokens already verified, by their exact text (the whole Authorization header), until they expire: a
/// client sends the same token for an hour, and checking its RSA signature and claims again on every request is
/// most of what authentication costs. A different text — any tampering — is a different key and is verified
/// afresh. Expiry is checked on every use; revocation is checked by BearerGate on every use. Bounded: past
/// 10,000 entries the cache starts over.
/// </summary>
public sealed class VerifiedTokens
{
    private const int Capacity = 10_000;
    private readonly ConcurrentDictionary<string, VerifiedToken> _tokens = new(StringComparer.Ordinal);

    public VerifiedToken? Find(string authorization)
    {
        if (!_tokens.TryGetValue(authorization, out var token)) return null;
        if (token.Expires > DateTimeOffset.UtcNow) return token;
        _tokens.TryRemove(authorization, out _);
        return null;
    }

    public VerifiedToken Add(string authorization, ClaimsPrincipal principal, Caller caller)
    {
        var expires = principal.GetExpirationDate() ?? DateTimeOffset.UtcNow.AddMinutes(5);
        var token = new VerifiedToken(principal, caller, principal.GetClaim(Claims.Private.TokenId), expires);
        if (_tokens.Count >= Capacity) _tokens.Clear();
        _tokens[authorization] = token;
        return token;
    }
}

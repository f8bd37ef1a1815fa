namespace Interop.Server.Auth;

/// <summary>Settings under "Auth" (environment: Auth__AccessTokenMinutes and so on).</summary>
public sealed class AuthOptions
{
    /// <summary>
    /// Off only to measure what security costs (`./interop.sh bench` compares both in one run): every request is
    /// then an unrestricted caller. Never switch it off on a server that holds real data.
    /// </summary>
    public bool Enabled { get; set; } = true;
    public int AccessTokenMinutes { get; set; } = 60;
    public int RefreshTokenDays { get; set; } = 30;
    /// <summary>
    /// online_access: the refresh token lapses after this many minutes without use (each refresh gives a new
    /// one), so an app keeps access only while its user is active.
    /// </summary>
    public int OnlineAccessMinutes { get; set; } = 60;
    /// <summary>How long a revoked access token may still pass on another instance (the revocation cache's age).</summary>
    public int RevocationCacheSeconds { get; set; } = 5;
    /// <summary>The secret of the bootstrap client "admin" (INTEROP_ADMIN_SECRET); no admin client without it.</summary>
    public string? AdminSecret { get; set; }
    /// <summary>A client's JWK Set at its jwksUri: how long one fetch may take, and how large the answer may be.</summary>
    public int JwksFetchSeconds { get; set; } = 5;
    public int JwksMaxBytes { get; set; } = 64 * 1024;
    /// <summary>
    /// How long a fetched JWK Set is kept when its answer has no Cache-Control max-age (a max-age is honoured
    /// between one minute and a day).
    /// </summary>
    public int JwksCacheSeconds { get; set; } = 300;
    /// <summary>
    /// An assertion naming a kid the cached set lacks (the client rotated its keys) fetches the set again, but at
    /// most once in this many seconds per URL, so assertions with made-up kids cannot make the server hammer it.
    /// </summary>
    public int JwksRefetchSeconds { get; set; } = 30;
    /// <summary>
    /// Sign-in throttle (auth.sign_in_failures, shared by every instance): after this many failed passwords for one
    /// username within SignInLockMinutes of the first, the username is locked until those minutes are over.
    /// </summary>
    public int SignInMaxFailures { get; set; } = 5;
    public int SignInLockMinutes { get; set; } = 15;
    /// <summary>At most this many usernames' failure counts are kept (a flood of made-up names evicts the oldest).</summary>
    public int SignInFailureCap { get; set; } = 100_000;
}

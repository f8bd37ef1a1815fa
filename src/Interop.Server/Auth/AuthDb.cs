using Microsoft.EntityFrameworkCore;

namespace Interop.Server.Auth;

/// <summary>
/// The authorisation server's state in the FHIR database's own schema "auth": OpenIddict's applications (clients),
/// authorisations and tokens, the users who sign in, the signing keys every instance shares, and the client
/// assertions already used (replay protection).
/// </summary>
public sealed class AuthDb(DbContextOptions<AuthDb> options) : DbContext(options)
{
    public const string Schema = "auth";

    public DbSet<AuthUser> Users => Set<AuthUser>();
    public DbSet<AuthKey> Keys => Set<AuthKey>();
    public DbSet<UsedAssertion> UsedAssertions => Set<UsedAssertion>();

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.HasDefaultSchema(Schema);
        base.OnModelCreating(model); // OpenIddict's entities (UseOpenIddict on the options)
        model.Entity<AuthUser>(u =>
        {
            u.ToTable("users");
            u.HasKey(x => x.Username);
        });
        model.Entity<AuthKey>(k =>
        {
            k.ToTable("keys");
            k.HasKey(x => x.Use);
        });
        model.Entity<UsedAssertion>(a =>
        {
            a.ToTable("used_assertions");
            a.HasKey(x => x.Key);
            a.HasIndex(x => x.Expires);
        });
    }
}

/// <summary>A person who signs in at /auth/authorize.</summary>
public sealed class AuthUser
{
    public string Username { get; set; } = "";
    /// <summary>ASP.NET Core Identity's PBKDF2 hash (PasswordHasher).</summary>
    public string PasswordHash { get; set; } = "";
    /// <summary>"Patient/…" for a resident, "Practitioner/…" for staff.</summary>
    public string FhirUser { get; set; } = "";
    public List<string> Institutions { get; set; } = [];
    public List<string> Roles { get; set; } = [];
    public DateTimeOffset Created { get; set; }
}

/// <summary>A private key every server instance uses: "sig" signs tokens (RS256), "enc" encrypts codes and refresh tokens.</summary>
public sealed class AuthKey
{
    public string Use { get; set; } = "";
    public string Pem { get; set; } = "";
    public DateTimeOffset Created { get; set; }
}

/// <summary>A client assertion (private_key_jwt) already presented: "{client_id} {jti}", kept until it expires.</summary>
public sealed class UsedAssertion
{
    public string Key { get; set; } = "";
    public DateTimeOffset Expires { get; set; }
}

using System.Text.RegularExpressions;
using Interop.Fhir.Errors;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Interop.Server.Auth;

/// <summary>A user as the admin API and `./interop.sh users add` take it (never returned with the password).</summary>
public sealed record UserRegistration(string? Username, string? Password, string? FhirUser, List<string>? Institutions, List<string>? Roles);

public sealed record UserProfile(string Username, string FhirUser, IReadOnlyList<string> Institutions, IReadOnlyList<string> Roles);

/// <summary>The people who sign in at /auth/authorize: residents (fhirUser Patient/…) and staff (Practitioner/…).</summary>
public sealed partial class Users(AuthDb db, Clients clients)
{
    private static readonly PasswordHasher<AuthUser> Hasher = new();

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,64}$")]
    private static partial Regex UsernamePattern();

    public async Task<UserProfile> Add(UserRegistration r, CancellationToken ct)
    {
        if (r.Username is not { } name || !UsernamePattern().IsMatch(name))
            throw Clients.Bad("username is required: 1-64 characters of A-Z a-z 0-9 . _ @ -", "username");
        if (await db.Users.AnyAsync(u => u.Username == name, ct))
            throw FhirException.Conflict($"A user '{name}' already exists; DELETE it first.");
        if (WeakPassword(r.Password) is { } why) throw Clients.Bad(why, "password");
        var fhirUser = r.FhirUser ?? "";
        var type = fhirUser.Split('/')[0];
        if (type is not ("Patient" or "Practitioner"))
            throw Clients.Bad("fhirUser must be \"Patient/…\" (a resident) or \"Practitioner/…\" (staff).", "fhirUser");
        await clients.RequireResource(fhirUser, type, "fhirUser", ct);
        var institutions = (r.Institutions ?? []).Distinct().ToList();
        foreach (var institution in institutions) await clients.RequireResource(institution, "Organization", "institutions", ct);
        var roles = (r.Roles ?? []).Distinct().ToList();
        if (roles.FirstOrDefault(role => !Clients.KnownRoles.Contains(role)) is { } unknown)
            throw Clients.Bad($"Unknown role '{unknown}': the roles are {string.Join(", ", Clients.KnownRoles)}.", "roles");
        var user = new AuthUser { Username = name, FhirUser = fhirUser, Institutions = institutions, Roles = roles, Created = DateTimeOffset.UtcNow };
        user.PasswordHash = Hasher.HashPassword(user, r.Password!);
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        return Profile(user);
    }

    /// <summary>The user whose password this is, or null (the same answer for an unknown name and a wrong password).</summary>
    public async Task<AuthUser?> SignIn(string username, string password, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Username == username, ct);
        if (user is null)
        {
            Hasher.HashPassword(new AuthUser(), password); // the same work either way: no timing hint that the name exists
            return null;
        }
        return Hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed ? null : user;
    }

    public Task<AuthUser?> Find(string username, CancellationToken ct) =>
        db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Username == username, ct);

    public async Task<List<UserProfile>> List(CancellationToken ct) =>
        (await db.Users.AsNoTracking().OrderBy(u => u.Username).ToListAsync(ct)).Select(Profile).ToList();

    public async Task<bool> Remove(string username, CancellationToken ct) =>
        await db.Users.Where(u => u.Username == username).ExecuteDeleteAsync(ct) > 0;

    public static UserProfile Profile(AuthUser u) => new(u.Username, u.FhirUser, u.Institutions, u.Roles);

    /// <summary>At least 10 characters, of at least three kinds (lower, upper, digit, other); null when strong enough.</summary>
    public static string? WeakPassword(string? password)
    {
        if (string.IsNullOrEmpty(password)) return "password is required.";
        var kinds = new[] { password.Any(char.IsLower), password.Any(char.IsUpper), password.Any(char.IsDigit), password.Any(c => !char.IsLetterOrDigit(c)) }.Count(k => k);
        return password.Length < 10 || kinds < 3
            ? "The password is too weak: use at least 10 characters with at least three of lower case, upper case, digits and symbols."
            : null;
    }
}

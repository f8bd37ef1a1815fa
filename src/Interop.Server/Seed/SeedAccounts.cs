using System.Security.Cryptography;
using System.Text;
using Interop.Server.Auth;

namespace Interop.Server.Seed;

/// <summary>One account the seed registered or found: "client" or "user", its name, its secret or password (null when it existed already: it keeps its own), and what it is for.</summary>
public sealed record SeedAccount(string Kind, string Name, string? Secret, string Note)
{
    public bool Created => Secret is not null;
}

/// <summary>
/// The accounts that make the directory usable: a confidential system client per hospital and station
/// (`{institution}-emr`, system/*.cruds, role clinician, acting for that institution), the information centre's
/// group-level client (system/*.rs, no institution) and the quality office's audit client (system/AuditEvent.rs);
/// a user per GP (username = Practitioner id, their station, role clinician), the information analyst (group-level)
/// and the quality auditor (role auditor). Secrets and passwords are derived from the seed — demonstration data
/// only — and an account that exists already is left as it is.
/// </summary>
public static class SeedAccounts
{
    /// <summary>"Seed-" + 16 hex digits of SHA-256("interop-seed|{seed}|{name}") + "!": long enough, four kinds of character.</summary>
    public static string Secret(int seed, string name) =>
        "Seed-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"interop-seed|{seed}|{name}")))[..16] + "!";

    public static async Task<List<SeedAccount>> Register(IServiceProvider services, GroupDirectory directory, int seed, CancellationToken ct)
    {
        using var scope = services.CreateScope();
        var clients = scope.ServiceProvider.GetRequiredService<Clients>();
        var users = scope.ServiceProvider.GetRequiredService<Users>();
        var done = new List<SeedAccount>();
        async Task Client(string id, string scopes, string? institution, string note, params string[] roles)
        {
            var secret = Secret(seed, id);
            var exists = await clients.Find(id, ct) is not null;
            if (!exists) await clients.Add(new ClientRegistration(id, "confidential", secret, null, null, null, scopes, institution, [.. roles]), ct);
            done.Add(new SeedAccount("client", id, exists ? null : secret, note));
        }
        async Task User(string name, string? institution, string note, params string[] roles) =>
            done.Add(await AddUser(users, seed, name, $"Practitioner/{name}", institution, note, roles, ct));
        foreach (var institution in Institutions.Hospitals.Concat(Institutions.Stations))
            await Client($"{institution.Id}-emr", "system/*.cruds", $"Organization/{institution.Id}", institution.Name, "clinician");
        await Client("information-centre", "system/*.rs", null, "group-level reads for the indicators");
        await Client("quality-audit", "system/AuditEvent.rs", null, "reads the access log", "auditor");
        foreach (var team in directory.Teams)
            await User(team.GpId, $"Organization/{team.StationId}", $"GP {team.GpName}, leads {team.Id}", "clinician");
        foreach (var hospital in Institutions.Hospitals)
            await User(directory.HospitalPhysicians[hospital.Id][0], $"Organization/{hospital.Id}",
                $"emergency physician at {hospital.Name} (may break the glass)", "clinician", "break-glass");
        await User(directory.AnalystId, null, "information centre analyst (group-level)");
        await User(directory.AuditorId, $"Organization/{Institutions.Quality}", "quality auditor", "auditor");
        return done;
    }

    /// <summary>
    /// Sign-ins for the residents' app (username = the Patient id): the first <paramref name="first"/> residents of the seed,
    /// and up to <paramref name="showcase"/> more whose record shows every part of the app (<see cref="Residents.Showcase"/>).
    /// </summary>
    public static async Task<List<SeedAccount>> RegisterResidents(IServiceProvider services, Residents generator, int count, int first, int showcase, CancellationToken ct)
    {
        using var scope = services.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<Users>();
        var done = new List<SeedAccount>();
        var firstOnes = Enumerable.Range(1, Math.Min(count, first)).ToList();
        foreach (var i in firstOnes)
            done.Add(await AddUser(users, generator.Seed, generator.IdOf(i), $"Patient/{generator.IdOf(i)}", null, "resident (the app at /app)", [], ct));
        foreach (var i in generator.Showcase(count).Where(i => !firstOnes.Contains(i)).Take(showcase))
            done.Add(await AddUser(users, generator.Seed, generator.IdOf(i), $"Patient/{generator.IdOf(i)}", null,
                "resident with a contract, results and a referral (the app at /app)", [], ct));
        return done;
    }

    private static async Task<SeedAccount> AddUser(Users users, int seed, string name, string fhirUser, string? institution, string note, string[] roles, CancellationToken ct)
    {
        var password = Secret(seed, name);
        var exists = await users.Find(name, ct) is not null;
        if (!exists) await users.Add(new UserRegistration(name, password, fhirUser, institution is null ? [] : [institution], [.. roles]), ct);
        return new SeedAccount("user", name, exists ? null : password, note);
    }
}

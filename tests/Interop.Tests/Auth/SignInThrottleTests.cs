using System.Net;
using Hl7.Fhir.Model;
using Interop.Server.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Interop.Tests.Auth;

/// <summary>
/// The sign-in throttle is kept in the database: two server instances on one database share one count per username,
/// so guesses spread over instances lock the name on all of them; a success clears it; the window ends.
/// </summary>
public sealed class SignInThrottleTests(AuthFixture first) : IClassFixture<AuthFixture>
{
    private const string Password = "Correct-Horse-42";

    /// <summary>A second server on the first one's database (it neither creates nor drops it).</summary>
    private sealed class SecondInstance(string connectionString) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
        }

        public HttpClient Browser() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
    }

    private async Task<(string ClientId, string Username)> Resident()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var patient = await first.NewId(new Patient { Name = [new HumanName { Family = "Throttle" + suffix }] });
        await first.RegisterOrFail("/admin/users", new { username = "thr-" + suffix, password = Password, fhirUser = $"Patient/{patient}" });
        await first.RegisterOrFail("/admin/clients", new { clientId = "thr-app-" + suffix, type = "public", redirectUris = new[] { AuthFixture.Redirect }, scopes = "launch/patient patient/*.rs" });
        return ("thr-app-" + suffix, "thr-" + suffix);
    }

    /// <summary>One browser's login form on one instance, and a way to submit a username and password to it.</summary>
    private static async Task<Func<string, string, Task<HttpStatusCode>>> LoginForm(HttpClient browser, string clientId)
    {
        var (_, challenge) = AuthFixture.Pkce();
        var login = await (await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge))).Content.ReadAsStringAsync();
        Assert.Contains("name=password", login);
        return async (username, password) => (await AuthFixture.Submit(browser, login, -1, ("username", username), ("password", password))).StatusCode;
    }

    private async Task SetBack(string username, TimeSpan by)
    {
        await using var db = new NpgsqlConnection(first.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand($"update {SignInThrottle.Table} set since = since - $2 where name_hash = $1", db);
        cmd.Parameters.AddWithValue(SignInThrottle.NameHash(username));
        cmd.Parameters.AddWithValue(by);
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Three_failures_on_one_instance_and_two_on_another_lock_the_user_on_both_until_the_window_ends()
    {
        var (clientId, username) = await Resident();
        await using var second = new SecondInstance(first.ConnectionString);
        var one = await LoginForm(first.Browser(), clientId);
        var two = await LoginForm(second.Browser(), clientId);
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, await one(username, "guess-a" + i));
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.Unauthorized, await two(username, "guess-b" + i));

        // Five in all: the right password is refused on both instances, and so is a sixth guess (with the same answer).
        Assert.Equal(HttpStatusCode.TooManyRequests, await one(username, Password));
        Assert.Equal(HttpStatusCode.TooManyRequests, await two(username, Password));
        Assert.Equal(HttpStatusCode.TooManyRequests, await two(username, "guess-c"));
        // Usernames differ only in case: one count (as the in-memory throttle did).
        Assert.Equal(HttpStatusCode.TooManyRequests, await one(username.ToUpperInvariant(), Password));

        // Another user on either instance is not affected.
        var (otherClient, other) = await Resident();
        Assert.Equal(HttpStatusCode.OK, await (await LoginForm(second.Browser(), otherClient))(other, Password));

        // 15 minutes after the first failure the lock is over (the stored time is set back instead of waiting).
        await SetBack(username, TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, await two(username, Password));
        // ... and the success cleared the count.
        Assert.Equal(0L, await Rows(username));
    }

    [Fact]
    public async Task A_success_on_one_instance_clears_the_failures_counted_on_the_other()
    {
        var (clientId, username) = await Resident();
        await using var second = new SecondInstance(first.ConnectionString);
        var one = await LoginForm(first.Browser(), clientId);
        var two = await LoginForm(second.Browser(), clientId);
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.Unauthorized, await one(username, "guess-a" + i));
        Assert.Equal(4, await Failures(username));
        Assert.Equal(HttpStatusCode.OK, await two(username, Password));
        Assert.Equal(0L, await Rows(username));
        // Four more failures (in a new browser: the signed-in one's form is no longer valid) do not lock: the count
        // started again (eight in all would have).
        var again = await LoginForm(second.Browser(), clientId);
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.Unauthorized, await again(username, "guess-b" + i));
        Assert.Equal(4, await Failures(username));
        Assert.Equal(HttpStatusCode.OK, await one(username, Password));
    }

    [Fact]
    public async Task A_failure_after_the_window_starts_a_new_count()
    {
        var (clientId, username) = await Resident();
        var one = await LoginForm(first.Browser(), clientId);
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.Unauthorized, await one(username, "guess-a" + i));
        await SetBack(username, TimeSpan.FromMinutes(16));
        // The fifth and sixth failures are the first and second of a new window: no lock.
        Assert.Equal(HttpStatusCode.Unauthorized, await one(username, "guess-b0"));
        Assert.Equal(HttpStatusCode.Unauthorized, await one(username, "guess-b1"));
        Assert.Equal(2, await Failures(username));
        Assert.Equal(HttpStatusCode.OK, await one(username, Password));
    }

    [Fact]
    public async Task Pruning_removes_expired_counts_and_those_beyond_the_cap_oldest_first()
    {
        _ = first.CreateClient();
        var prefix = "flood-" + Guid.NewGuid().ToString("N")[..8] + "-";
        await using var db = new NpgsqlConnection(first.ConnectionString);
        await db.OpenAsync();
        // 30 made-up names, each a minute older than the next; 5 more past the window.
        for (var i = 0; i < 35; i++)
        {
            await using var insert = new NpgsqlCommand($"insert into {SignInThrottle.Table} (name_hash, failures, since) values ($1, 1, now() - $2)", db);
            insert.Parameters.AddWithValue(SignInThrottle.NameHash(prefix + i));
            insert.Parameters.AddWithValue(i < 30 ? TimeSpan.FromSeconds(i * 20) : TimeSpan.FromMinutes(20 + i));
            await insert.ExecuteNonQueryAsync();
        }
        await using (var clear = new NpgsqlCommand($"delete from {SignInThrottle.Table} where not (name_hash = any($1))", db))
        {
            clear.Parameters.AddWithValue(Enumerable.Range(0, 35).Select(i => SignInThrottle.NameHash(prefix + i)).ToArray());
            await clear.ExecuteNonQueryAsync(); // only this test's rows (the other tests' users are cleared or set back anyway)
        }
        await using var source = NpgsqlDataSource.Create(first.ConnectionString);
        var pruned = await SignInFailurePruning.Prune(source, new AuthOptions { SignInFailureCap = 10 }, CancellationToken.None);
        Assert.Equal(25, pruned);
        for (var i = 0; i < 35; i++) Assert.Equal(i < 10 ? 1L : 0L, await Rows(prefix + i));
    }

    private async Task<int> Failures(string username)
    {
        await using var db = new NpgsqlConnection(first.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select failures from {SignInThrottle.Table} where name_hash = $1", db);
        cmd.Parameters.AddWithValue(SignInThrottle.NameHash(username));
        return (int)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<long> Rows(string username)
    {
        await using var db = new NpgsqlConnection(first.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand($"select count(*) from {SignInThrottle.Table} where name_hash = $1", db);
        cmd.Parameters.AddWithValue(SignInThrottle.NameHash(username));
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

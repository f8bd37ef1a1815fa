using Interop.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Tests.Auth;

/// <summary>The cookies' key ring lives in the database: another instance (or the same one after a restart) reads what one protected.</summary>
public sealed class DataProtectionTests : IClassFixture<FhirServerFixture>
{
    private readonly FhirServerFixture _first;

    public DataProtectionTests(FhirServerFixture first) => _first = first;

    /// <summary>A second server on the first one's database (it neither creates nor drops it).</summary>
    private sealed class SecondInstance(string connectionString) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
        }
    }

    [Fact]
    public async Task What_one_instance_protects_another_on_the_same_database_unprotects()
    {
        _ = _first.CreateClient(); // starts the first server
        var cookie = _first.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("a session");
        await using var second = new SecondInstance(_first.ConnectionString);
        _ = second.CreateClient();
        Assert.Equal("a session", second.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(cookie));

        await using var db = new NpgsqlConnection(_first.ConnectionString);
        await db.OpenAsync();
        await using var count = new NpgsqlCommand("select count(*) from auth.data_protection_keys", db);
        Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
        // A protector of another purpose cannot read it: the ring is shared, the purposes stay apart.
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() =>
            second.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("other").Unprotect(cookie));
    }
}

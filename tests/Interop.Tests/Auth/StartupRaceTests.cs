using Interop.Server.Auth;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Interop.Tests.Auth;

/// <summary>
/// Instances on one database start at the same moment and each brings the server's own clients (admin, the pages')
/// up to date: the one that loses the race retries instead of failing to start.
/// </summary>
public sealed class StartupRaceTests(FhirServerFixture fixture) : IClassFixture<FhirServerFixture>
{
    [Fact]
    public async Task Concurrent_start_up_registrations_of_one_client_all_succeed()
    {
        _ = fixture.CreateClient();
        var registration = new ClientRegistration("race-client", "confidential", "a-long-enough-secret-for-the-race", null, null, [],
            "system/Patient.rs", null, []);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Clients.Ensure(fixture.Services, registration, CancellationToken.None))));

        using var scope = fixture.Services.CreateScope();
        var clients = await scope.ServiceProvider.GetRequiredService<Clients>().List(CancellationToken.None);
        var raced = Assert.Single(clients, c => c.ClientId == "race-client");
        Assert.Equal(["system/Patient.rs"], raced.Scopes);
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>
/// Conditional delete of several resources (Fhir:AllowMultipleDelete on) by an institution: all or nothing. Every
/// match it may see must be one it may change, or nothing is deleted (403); what it may not see is not matched.
/// </summary>
public sealed class PolicyConditionalDeleteTests(PolicyConditionalDeleteTests.World world) : IClassFixture<PolicyConditionalDeleteTests.World>
{
    public sealed class MultipleDeleteServer : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:AllowMultipleDelete"] = "true" };
    }

    public sealed class World : IAsyncLifetime
    {
        public MultipleDeleteServer Server { get; } = new();
        public string Tag { get; } = Guid.NewGuid().ToString("N");
        public string Cared = "", Hidden = "";
        public HttpClient Admin = null!, Hospital = null!;

        public async System.Threading.Tasks.Task InitializeAsync()
        {
            await ((IAsyncLifetime)Server).InitializeAsync();
            Admin = Server.CreateClient();
            var hosp = await Admin.CreateId(new Organization { Name = "Hospital " + Tag });
            Cared = await Admin.CreateId(new Patient { Name = [new HumanName { Family = "Cared" }] });
            Hidden = await Admin.CreateId(new Patient { Name = [new HumanName { Family = "Hidden" }] });
            await Admin.CreateId(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference($"Patient/{Cared}"), ManagingOrganization = new ResourceReference($"Organization/{hosp}") });
            Hospital = await Server.ClientWith("hosp-d-" + Tag[..6], "system/*.cruds", $"Organization/{hosp}", "clinician");
        }

        public Observation Obs(string patient, string value) => new()
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference($"Patient/{patient}"),
            Identifier = [new Identifier("urn:test:del-" + Tag, value)],
        };

        public async System.Threading.Tasks.Task DisposeAsync() => await ((IAsyncLifetime)Server).DisposeAsync();
    }

    private async Task<HttpStatusCode> Status(string id) => (await world.Admin.GetAsync($"/fhir/Observation/{id}")).StatusCode;

    private Task<HttpResponseMessage> Delete(string value) => world.Hospital.DeleteAsync($"/fhir/Observation?identifier=urn:test:del-{world.Tag}|{value}");

    [Fact]
    public async Task Several_of_its_own_are_deleted_one_it_may_not_change_refuses_them_all_and_hidden_ones_stay()
    {
        var own = Guid.NewGuid().ToString("N");
        var ownIds = new[] { await world.Hospital.CreateId(world.Obs(world.Cared, own)), await world.Hospital.CreateId(world.Obs(world.Cared, own)) };
        Assert.Equal(HttpStatusCode.NoContent, (await Delete(own)).StatusCode);
        foreach (var id in ownIds) Assert.Equal(HttpStatusCode.Gone, await Status(id));

        var mixed = Guid.NewGuid().ToString("N");
        var mine = await world.Hospital.CreateId(world.Obs(world.Cared, mixed));
        var theirs = await world.Admin.CreateId(world.Obs(world.Cared, mixed));
        var refused = await Delete(mixed);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("may change only what it wrote", (await refused.Issues())[0].Diagnostics);
        Assert.Equal(HttpStatusCode.OK, await Status(mine)); // all or nothing
        Assert.Equal(HttpStatusCode.OK, await Status(theirs));

        var beside = Guid.NewGuid().ToString("N");
        var kept = await world.Hospital.CreateId(world.Obs(world.Cared, beside));
        var hidden = await world.Admin.CreateId(world.Obs(world.Hidden, beside));
        Assert.Equal(HttpStatusCode.NoContent, (await Delete(beside)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, await Status(kept));
        Assert.Equal(HttpStatusCode.OK, await Status(hidden));
    }
}

using System.Net;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Validation;

/// <summary>Fhir:Validation: off stores what parses; core checks the R4 rules but not the group's profiles.</summary>
public sealed class ValidationModeTests
{
    public sealed class Off : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:Validation"] = "off" };
    }

    public sealed class Core : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:Validation"] = "core" };
    }

    // Breaks an R4 invariant (pat-1), and claims a profile no server knows.
    private const string BreaksCore = """{"resourceType":"Patient","contact":[{"gender":"male"}]}""";
    private const string UnknownProfile = """{"resourceType":"Patient","meta":{"profile":["https://nowhere.example/StructureDefinition/x"]},"active":true}""";

    public sealed class WhenOff(Off server) : IClassFixture<Off>
    {
        [Fact]
        public async Task Only_parsing_applies()
        {
            var client = server.CreateClient();
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/fhir/Patient", FhirTest.Body(BreaksCore))).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/fhir/Patient", FhirTest.Body(UnknownProfile))).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/fhir/Patient", FhirTest.Body("""{"resourceType":"Patient","nickname":"x"}"""))).StatusCode);
            // $validate still answers, with the profiles
            Assert.Contains("pat-1", await (await client.PostAsync("/fhir/Patient/$validate", FhirTest.Body(BreaksCore))).Content.ReadAsStringAsync());
        }
    }

    public sealed class WhenCore(Core server) : IClassFixture<Core>
    {
        [Fact]
        public async Task The_R4_rules_apply_and_the_profiles_do_not()
        {
            var client = server.CreateClient();
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsync("/fhir/Patient", FhirTest.Body(BreaksCore))).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/fhir/Patient", FhirTest.Body(UnknownProfile))).StatusCode);
            var referral = ProfileTests.Example("ServiceRequest-example-referral");
            referral.Remove("id");
            referral.Remove("reasonCode"); // ref-3, a profile rule
            referral.Remove("reasonReference");
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/fhir/ServiceRequest", FhirTest.Body(referral.ToJsonString()))).StatusCode);
        }
    }
}

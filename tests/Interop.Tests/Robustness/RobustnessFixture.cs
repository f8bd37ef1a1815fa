using Interop.Tests.Infrastructure;

namespace Interop.Tests.Robustness;

/// <summary>A server with a small pool and short time limits, so that exhaustion and timeouts show quickly.</summary>
public class RobustnessFixture : FhirServerFixture
{
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["ConnectionStrings:Interop"] = ConnectionString + ";Maximum Pool Size=10;Timeout=5",
        ["Fhir:SearchTimeoutSeconds"] = "2",
        ["Fhir:LockTimeoutSeconds"] = "5",
    };
}

public static class Hostile
{
    /// <summary>A 4xx whose body is an OperationOutcome with a diagnostic.</summary>
    public static async Task<List<(string Code, string Diagnostics, string? Expression)>> AssertRefused(HttpResponseMessage response, int? status = null)
    {
        var code = (int)response.StatusCode;
        Assert.True(status is null ? code is >= 400 and < 500 : code == status,
            $"expected {(status?.ToString() ?? "4xx")}, got {code}: {await response.Content.ReadAsStringAsync()}");
        var issues = await response.Issues();
        Assert.NotEmpty(issues);
        Assert.All(issues, i => Assert.False(string.IsNullOrWhiteSpace(i.Diagnostics)));
        return issues;
    }
}

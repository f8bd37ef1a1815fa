using System.Collections.Concurrent;
using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Interop.Tests.Rest;

/// <summary>Prometheus metrics, the per-request log line and its scope, and readiness.</summary>
public sealed class ObservabilityTests(ObservabilityTests.LoggingFixture server) : IClassFixture<ObservabilityTests.LoggingFixture>
{
    public sealed class LoggingFixture : FhirServerFixture
    {
        public ConcurrentQueue<(string Category, string Message, Dictionary<string, object?> Scope)> Lines { get; } = new();

        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Logging:LogLevel:Interop.Requests"] = "Information" };

        protected override void ConfigureTestServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(new Capture(Lines));
    }

    private sealed class Capture(ConcurrentQueue<(string, string, Dictionary<string, object?>)> lines) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();
        public ILogger CreateLogger(string category) => new Logger(category, this);
        public void SetScopeProvider(IExternalScopeProvider scopes) => _scopes = scopes;
        public void Dispose() { }

        private sealed class Logger(string category, Capture owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
            public bool IsEnabled(LogLevel level) => true;
            public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format)
            {
                var scope = new Dictionary<string, object?>();
                owner._scopes.ForEachScope((s, d) => { if (s is IEnumerable<KeyValuePair<string, object>> kv) foreach (var (k, v) in kv) d[k] = v; }, scope);
                owner.Lines.Enqueue((category, format(state, e), scope));
            }
        }

        private ConcurrentQueue<(string, string, Dictionary<string, object?>)> Lines => lines;
    }

    [Fact]
    public async Task Metrics_are_scraped_in_prometheus_format()
    {
        var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/metadata")).StatusCode);
        var metrics = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("http_server_request_duration_seconds", await metrics.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Each_request_logs_its_interaction_resource_client_outcome_and_duration_within_its_correlation_scope()
    {
        var name = "station-" + Guid.NewGuid().ToString("N")[..8];
        var client = await server.ClientWith(name, "system/Patient.cruds");
        var id = await client.CreateId(new Patient { Active = true });
        var read = await client.GetAsync($"/fhir/Patient/{id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var line = Assert.Single(server.Lines, l => l.Category == "Interop.Requests" && l.Message.Contains($"read Patient/{id}"));
        Assert.Contains($"by {name} answered 200 in", line.Message);
        Assert.False(string.IsNullOrEmpty(line.Scope["CorrelationId"]?.ToString()));
    }
}

using Interop.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddInterop();

var app = builder.Build();
app.UseInterop();
app.Run();

/// <summary>Entry point; public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;

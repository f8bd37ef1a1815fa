using Interop.Server.Commands;
using Interop.Server.Hosting;

if (CommandLine.IsCommand(args)) return await CommandLine.Run(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddInterop();

var app = builder.Build();
app.UseInterop();
app.Run();
return 0;

/// <summary>Entry point; public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;

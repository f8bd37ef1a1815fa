using System.Text.Json;
using Interop.Fhir.Errors;
using Interop.Server.Auth;

namespace Interop.Server.Commands;

/// <summary>
/// `clients add '{json}' | list | remove ID` and `users add '{json}' | list | remove NAME`: the admin API's
/// registrations from the command line, with the same rules (a refused one prints the field and why, exit 2).
/// </summary>
public static class AuthCommands
{
    public static async Task<int> Run(IServiceProvider services, string[] args)
    {
        using var scope = services.CreateScope();
        var ct = CancellationToken.None;
        var what = args[0];
        var verb = args.Length > 1 ? args[1] : "";
        try
        {
            object? result = (what, verb) switch
            {
                ("clients", "add") when args.Length == 3 => await scope.ServiceProvider.GetRequiredService<Clients>().Add(AdminApi.Parse<ClientRegistration>(args[2]), ct),
                ("clients", "list") => await scope.ServiceProvider.GetRequiredService<Clients>().List(ct),
                ("clients", "remove") when args.Length == 3 => await scope.ServiceProvider.GetRequiredService<Clients>().Remove(args[2], ct) ? $"removed {args[2]}" : throw FhirException.NotFound($"No client '{args[2]}'."),
                ("users", "add") when args.Length == 3 => await scope.ServiceProvider.GetRequiredService<Users>().Add(AdminApi.Parse<UserRegistration>(args[2]), ct),
                ("users", "list") => await scope.ServiceProvider.GetRequiredService<Users>().List(ct),
                ("users", "remove") when args.Length == 3 => await scope.ServiceProvider.GetRequiredService<Users>().Remove(args[2], ct) ? $"removed {args[2]}" : throw FhirException.NotFound($"No user '{args[2]}'."),
                _ => null,
            };
            if (result is null)
            {
                Console.Error.WriteLine($"usage: {what} add '<json>' | {what} list | {what} remove <{(what == "clients" ? "clientId" : "username")}>");
                return 2;
            }
            Console.WriteLine(result as string ?? JsonSerializer.Serialize(result, new JsonSerializerOptions(AdminApi.Json) { WriteIndented = true }));
            return 0;
        }
        catch (FhirException e)
        {
            var issue = e.Outcome.Issue.FirstOrDefault();
            var field = issue?.Expression.FirstOrDefault();
            Console.Error.WriteLine($"{what} {verb}: {(field is null ? "" : field + ": ")}{issue?.Diagnostics ?? e.Message}");
            return 2;
        }
    }
}

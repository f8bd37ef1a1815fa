using Interop.Fhir.Indexing;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Search;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Search;

/// <summary>The direct path evaluator must select exactly the elements Firely's FHIRPath selects.</summary>
public sealed class FastPathTests
{
    [Fact]
    public void Most_expressions_take_the_fast_path()
    {
        var all = Interop.Fhir.Model.ResourceTypes.All.SelectMany(t => SearchParamRegistry.For(t).Values).Where(p => p.Compiled is not null).ToList();
        Assert.True(all.Count(p => p.Fast is not null) > all.Count * 0.9);
        Assert.NotNull(SearchParamRegistry.Find("Observation", "patient")!.Fast);          // where(resolve() is Patient)
        Assert.NotNull(SearchParamRegistry.Find("Observation", "value-quantity")!.Fast);   // as Quantity
    }

    [Fact]
    public void Same_elements_as_fhirpath_on_a_constructed_resource()
    {
        var observation = new Observation
        {
            Status = ObservationStatus.Final, Subject = new ResourceReference("Patient/1"), Focus = [new ResourceReference("Group/2")],
            Code = new CodeableConcept("http://loinc.org", "8480-6"), Value = new Quantity(120, "mm[Hg]"), Effective = new Period { Start = "2020" },
            Component = [new Observation.ComponentComponent { Code = new CodeableConcept("http://loinc.org", "8462-4"), Value = new Quantity(80, "mm[Hg]") }],
        };
        AssertSame(observation);
    }

    [SyntheaFact]
    public void Same_elements_as_fhirpath_on_every_synthea_resource()
    {
        var checkedCount = 0;
        foreach (var file in Directory.GetFiles(SyntheaFactAttribute.Folder!, "*.json"))
        {
            var bundle = (Bundle)FhirSerialization.ParseJson(File.ReadAllBytes(file));
            foreach (var entry in bundle.Entry) checkedCount += AssertSame(entry.Resource);
        }
        Assert.True(checkedCount > 100_000);
    }

    private static int AssertSame(Resource resource)
    {
        var node = resource.ToPocoNode(ModelInfo.ModelInspector);
        var context = new FhirEvaluationContext
        {
            Resource = node, RootResource = node,
            ElementResolver = r => FastPath.ReferenceType(r) is { } t ? ((Resource)Activator.CreateInstance(ModelInfo.GetTypeForFhirType(t)!)!).ToPocoNode(ModelInfo.ModelInspector) : null!,
        };
        var count = 0;
        foreach (var param in SearchParamRegistry.For(resource.TypeName).Values.Where(p => p.Fast is not null))
        {
            var fast = param.Fast!.Evaluate(resource);
            var firely = param.Compiled!.Invoke([node], context).Select(n => n.Poco).ToList();
            Assert.True(fast.Count == firely.Count && fast.Zip(firely).All(x => ReferenceEquals(x.First, x.Second)),
                $"{resource.TypeName}.{param.Name} ({param.Expression}): fast {fast.Count}, FHIRPath {firely.Count}");
            count++;
        }
        return count;
    }
}

// The OpenFeature provider's declarations, checked against the real @openfeature/web-sdk types.
import { OpenFeature, type Provider } from "@openfeature/web-sdk";
import { Tailor } from "@tailor-sdk/tailor";
import { TailorProvider } from "@tailor-sdk/tailor/openfeature";

export async function main(): Promise<string> {
  const tailor = await Tailor.init({ site: "s" });
  const provider: Provider = new TailorProvider(tailor, { record: false, timeout: 100 });
  await OpenFeature.setProviderAndWait(provider);
  const d = OpenFeature.getClient().getObjectDetails("layout", { cols: 1 });
  OpenFeature.getClient().track("signup", { value: 1, plan: "gold" });
  const n: number = new TailorProvider(tailor).resolveNumberEvaluation("x", 1).value;
  return String(d.value) + n;
}
// @ts-expect-error: an unknown option is refused
new TailorProvider({} as Tailor, { recrod: true });

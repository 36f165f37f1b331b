/**
 * @module
 * The admission function as a Hono app (routes relative to /admission): `POST /validate` takes
 * an AdmissionReview (admission.k8s.io/v1) and answers one. A body that is not an
 * AdmissionReview gets a 400 naming what is wrong; the core never throws, so there is no 500.
 */
import { Hono } from "hono";
import { AdmissionReview } from "../../shared/admission-review.ts";
import { installErrorHandling, readJson } from "../../shared/http.ts";
import { validateAdmission } from "./validate.ts";

export const app = new Hono();
installErrorHandling(app);

const logInternalError = (error: unknown) =>
  console.log(JSON.stringify({ level: "error", msg: "admission rule failed; answered allowed", error: String(error) }));

app.post("/validate", async (c) => {
  const review = await readJson(c, AdmissionReview);
  return c.json(validateAdmission(review, { onInternalError: logInternalError }));
});

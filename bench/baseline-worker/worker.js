// Baseline Worker for the submissions benchmark: POST stores the raw body with ONE D1 INSERT and
// answers 201 {id}, like the app's happy path minus everything the app does on top.
export default {
	async fetch(request, env) {
		if (request.method !== "POST") return new Response("ok");
		const body = await request.text();
		const id = crypto.randomUUID();
		await env.DB.prepare("INSERT INTO submissions (id, received_at, answers) VALUES (?, ?, ?)")
			.bind(id, new Date().toISOString(), body)
			.run();
		return Response.json({ id }, { status: 201 });
	},
};

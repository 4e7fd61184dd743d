import XCTest

final class ReviewSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
